package display

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewLineWriter(&out)
	for _, p := range []string{
		"[git-gate] ok\n",
		"[git-gate] \x1b]0;pwned", "\a\x1b[2K\n", // a line across writes
		"two\nlines\n", "tail \u009b", "\xe2", "\x80\xae", // a rune split across writes
	} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	want := "[git-gate] ok\n[git-gate] \\x1b]0;pwned\\a\\x1b[2K\ntwo\nlines\n"
	if out.String() != want {
		t.Errorf("before Close\n got %q\nwant %q", out.String(), want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want += `tail \u009b\u202e`
	if out.String() != want {
		t.Errorf("after Close\n got %q\nwant %q", out.String(), want)
	}
}

// TestLineWriterLongLine: a line without a newline is written in pieces of
// MaxLine bytes, a rune straddling the cut staying whole, and one write of
// many MaxLines is never held at once.
func TestLineWriterLongLine(t *testing.T) {
	var out countingWriter
	w := NewLineWriter(&out)
	long := strings.Repeat("x", MaxLine-1) + "é" + strings.Repeat("y", 3*MaxLine) + "\n"
	if _, err := w.Write([]byte(long)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := out.String(); got != long {
		t.Errorf("long line came out changed (%d bytes, want %d)", len(got), len(long))
	}
	if out.max > MaxLine {
		t.Errorf("a write of %d bytes: the line was held whole", out.max)
	}
	if out.writes < 4 {
		t.Errorf("%d writes for a line of %d bytes", out.writes, len(long))
	}
	lw := w.(*lineWriter)
	if cap(lw.buf) > 2*MaxLine {
		t.Errorf("buffer grew to %d bytes", cap(lw.buf))
	}
}

func TestLineWriterError(t *testing.T) {
	w := NewLineWriter(failingWriter{})
	if _, err := w.Write([]byte("a\n")); err == nil {
		t.Error("a failed write went unreported")
	}
	if _, err := w.Write([]byte("b\n")); err == nil {
		t.Error("a write after a failure went unreported")
	}
}

func FuzzLineWriter(f *testing.F) {
	f.Add("a\nb\x1b\n\u009b", 3)
	f.Add("\xe2\x80\xae\n\xff", 1)
	f.Fuzz(func(t *testing.T, s string, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		var out bytes.Buffer
		w := NewLineWriter(&out)
		for p := s; p != ""; {
			n := min(chunk, len(p))
			w.Write([]byte(p[:n]))
			p = p[n:]
		}
		w.Close()
		var want strings.Builder
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			want.WriteString(Visible(l))
			if i < len(lines)-1 {
				want.WriteString("\n")
			}
		}
		if out.String() != want.String() {
			t.Errorf("%q in chunks of %d: got %q, want %q", s, chunk, out.String(), want.String())
		}
	})
}

// countingWriter records how many writes it got and the longest.
type countingWriter struct {
	buf         bytes.Buffer
	writes, max int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.max = max(c.max, len(p))
	return c.buf.Write(p)
}

func (c *countingWriter) String() string { return c.buf.String() }

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

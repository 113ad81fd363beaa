package progress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// screen replays what the Terminal wrote on a terminal that knows only what
// it uses (cursor up, erase down) and returns the screen's lines.
func screen(out string) []string {
	var lines []string
	row := 0
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, "\x1b["):
			end := strings.IndexAny(out, "AJ")
			if out[end] == 'A' {
				n := 0
				for _, c := range out[2:end] {
					n = n*10 + int(c-'0')
				}
				row -= n
			} else {
				lines = lines[:row]
			}
			out = out[end+1:]
		case out[0] == '\r':
			out = out[1:]
		default:
			nl := strings.IndexByte(out, '\n')
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] = out[:nl]
			row++
			out = out[nl+1:]
		}
	}
	return lines[:row]
}

func newTestTerminal() (*Terminal, *bytes.Buffer) {
	var b bytes.Buffer
	t := NewTerminal(&b)
	t.tick = make(chan time.Time) // never fires: turn by hand
	return t, &b
}

// TestTerminalSteps: steps running at once each have their line, in the
// order they started, a spinner while they run and ✓/✗ with the duration
// once done (- when it was stopped); a message goes above the lines still
// running.
func TestTerminalSteps(t *testing.T) {
	term, out := newTestTerminal()
	a := term.Start("create bundle")
	b := term.Start("start agent")
	term.turn()
	if got, want := screen(out.String()), []string{" ⠙ create bundle", " ⠙ start agent"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b(336*time.Millisecond, nil)
	term.Write([]byte("CA (pipelock) SHA-256 fingerprint: AA\n"))
	a(1250*time.Millisecond, errors.New("boom"))
	c := term.Start("wait for bundle")
	c(80*time.Millisecond, nil)
	term.Start("provision")(5*time.Millisecond, fmt.Errorf("exec: %w", context.Canceled))
	want := []string{"CA (pipelock) SHA-256 fingerprint: AA", " ✗ create bundle (1.2s)", " ✓ start agent (336ms)", " ✓ wait for bundle (80ms)",
		" - provision (5ms)"}
	if got := screen(out.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTerminalIdleWritesPassThrough: once no step runs, the Terminal
// writes nothing of its own: the attached agent finds the terminal as it
// was, and a message is the bytes it is.
func TestTerminalIdleWritesPassThrough(t *testing.T) {
	term, out := newTestTerminal()
	term.Start("check name")(30*time.Millisecond, nil)
	out.Reset()
	term.Write([]byte("the agent runs\n"))
	if out.String() != "the agent runs\n" {
		t.Errorf("wrote %q", out.String())
	}
	if term.running != 0 || len(term.live) != 0 || term.drawn != 0 {
		t.Errorf("still drawing: %d running, %d live, %d drawn", term.running, len(term.live), term.drawn)
	}
}

// TestSentences: messages as a person reads them, a warning said so; what
// a message quotes from the guest cannot drive the terminal.
func TestSentences(t *testing.T) {
	var b bytes.Buffer
	log := logrus.New()
	log.SetOutput(&b)
	log.SetFormatter(Sentences{})
	log.Info("CA (pipelock) SHA-256 fingerprint: AA:BB")
	log.Warnf("skipped the guest's ref %s", "refs/heads/\x1b]0;pwned\a")
	log.WithField("duration", "61ms").Error("two\nlines")
	want := "CA (pipelock) SHA-256 fingerprint: AA:BB\n" +
		`warning: skipped the guest's ref refs/heads/\x1b]0;pwned\a` + "\n" +
		"error: two\n  lines duration=61ms\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestLog: each step one record once done, its duration a field.
func TestLog(t *testing.T) {
	var b bytes.Buffer
	log := logrus.New()
	log.SetOutput(&b)
	log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
	l := Log{L: log}
	done := l.Start("create network")
	if b.Len() != 0 {
		t.Errorf("logged at the start: %q", b.String())
	}
	done(61*time.Millisecond, nil)
	l.Start("start bundle")(2*time.Second, errors.New("x"))
	want := "level=info msg=\"create network\" duration=61ms\nlevel=info msg=\"start bundle failed\" duration=2.0s\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

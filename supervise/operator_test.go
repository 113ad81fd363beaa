package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"
)

func TestLs(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "a.example.org", Host: "a.example.org", Reason: "docs"}, testTime)
	s.Ask(Ask{Kind: KindCapability, Subject: "line one\nline two", Reason: ""}, testTime.Add(time.Second))
	s.Decide("r1", true, "ok", testTime.Add(2*time.Second), nil)
	s.Delivered("r1", testTime.Add(3*time.Second))

	want := `ID  STATUS    ASKED                 KIND        HOST           SUBJECT             REASON  NOTE
r1  approved  2026-01-02T03:04:05Z  egress      a.example.org  a.example.org       docs    ok
r2  pending   2026-01-02T03:04:06Z  capability  -              line one\nline two
`
	if got := f.mustOperator(t, "ls"); got != want {
		t.Errorf("ls\n%q\nwant\n%q", got, want)
	}
	want = `TIME                  EVENT      ID  KIND        HOST           SUBJECT             REASON/NOTE
2026-01-02T03:04:05Z  request    r1  egress      a.example.org  a.example.org       docs
2026-01-02T03:04:06Z  request    r2  capability                 line one\nline two
2026-01-02T03:04:07Z  approve    r1  egress      a.example.org  a.example.org       ok
2026-01-02T03:04:08Z  delivered  r1
`
	if got := f.mustOperator(t, "ls", "--all"); got != want {
		t.Errorf("ls --all\n%s\nwant\n%s", got, want)
	}
	lines := strings.Split(strings.TrimSpace(f.mustOperator(t, "ls", "--json")), "\n")
	var r Request
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &r) != nil || r.Subject != "line one\nline two" {
		t.Errorf("ls --json: %q", lines)
	}
	if n := len(strings.Split(strings.TrimSpace(f.mustOperator(t, "ls", "--all", "--json")), "\n")); n != 4 {
		t.Errorf("ls --all --json: %d lines", n)
	}
}

func TestDecideErrors(t *testing.T) {
	f := newFixture(t)
	f.store(t).Ask(Ask{Kind: KindCapability, Subject: "x"}, testTime)
	f.mustOperator(t, "deny", "r1")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"approve", "r1"}, 1, "already denied"},
		{[]string{"approve", "r2"}, 1, "no request r2"},
		{[]string{"approve", "x1"}, 2, "bad request ID"},
		{[]string{"approve"}, 2, "missing ID"},
	} {
		_, err := f.operator(t, c.args...)
		ec, ok := err.(cli.ExitCoder)
		if !ok || ec.ExitCode() != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: %v, want exit %d with %q", c.args, err, c.code, c.msg)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestWatch(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindCapability, Subject: "old, decided"}, testTime)
	s.Decide("r1", false, "", testTime, nil)
	s.Ask(Ask{Kind: KindEgress, Subject: "b.example.org", Host: "b.example.org", Reason: "why"}, testTime)

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- watch(ctx, f.store(t), &out, 5*time.Millisecond) }()
	time.Sleep(20 * time.Millisecond)
	s.Ask(Ask{Kind: KindBlock, Subject: "https://c.example.org/x", Host: "c.example.org", Reason: "npm"}, testTime)
	want := "r2\t2026-01-02T03:04:05Z\tegress\tb.example.org\tb.example.org\twhy\n" +
		"r3\t2026-01-02T03:04:05Z\tblock\tc.example.org\thttps://c.example.org/x\tnpm\n"
	for end := time.Now().Add(5 * time.Second); out.String() != want && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want {
		t.Errorf("watch printed\n%q\nwant\n%q", got, want)
	}
}

// TestWatchExitsOnEOF: with --exit-on-eof, watch ends when stdin closes
// (the host's docker exec -i went away).
func TestWatchExitsOnEOF(t *testing.T) {
	f := newFixture(t)
	done := make(chan error, 1)
	go func() { _, err := f.operator(t, "watch", "--exit-on-eof"); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop at EOF")
	}
}

// hostile is text an agent sends to draw on the operator's terminal: erase
// the screen, retitle the window (OSC … BEL), the same with C1 controls,
// a bidi override, a line separator, a tab.
const hostile = "ok\x1b[2J\x1b]0;pwned\a \u009b2J\u009d0;t\u009c \u202eevil\u2028x\ty"

// TestEscapesAreVisible: every string of the agent's that ls, watch, approve
// and deny print, tables and --json, shows its escapes as text, and nothing
// unprintable reaches the terminal (finding 5: C1 controls and bidi
// overrides passed).
func TestEscapesAreVisible(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindCapability, Subject: "need " + hostile, Reason: hostile}, testTime)
	s.Ask(Ask{Kind: KindBlock, Subject: "https://b.example.org/\u009b\u202e", Host: "b.example.org", Reason: hostile}, testTime)
	var watched syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watch(ctx, f.store(t), &watched, time.Millisecond) }()
	outputs := map[string]string{
		"ls":            f.mustOperator(t, "ls"),
		"ls --all":      f.mustOperator(t, "ls", "--all"),
		"ls --json":     f.mustOperator(t, "ls", "--json"),
		"ls --all/json": f.mustOperator(t, "ls", "--all", "--json"),
		"deny":          f.mustOperator(t, "deny", "r1"),
		"approve":       f.mustOperator(t, "approve", "r2"),
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	outputs["watch"] = watched.String()
	for name, out := range outputs {
		for _, r := range out {
			if !unicode.IsPrint(r) && r != '\n' && !(name == "watch" && r == '\t') {
				t.Errorf("%s prints %U:\n%s", name, r, out)
				break
			}
		}
		for _, want := range []string{`\u009b`, `\u202e`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not show %s:\n%s", name, want, out)
			}
		}
		if !strings.Contains(name, "json") && name != "approve" && !strings.Contains(out, `\x1b[2J\x1b]0;pwned\a`) {
			t.Errorf("%s does not show the escape sequences:\n%s", name, out)
		}
	}
	var r Request
	line, _, _ := strings.Cut(outputs["ls --json"], "\n")
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.Reason != hostile {
		t.Errorf("ls --json does not decode to the agent's text: %q, %v", r.Reason, err)
	}
}

// TestApproveShowsTheHost: ls, watch and approve show the exact host an
// approval adds, which for a URL is not its first name-looking part.
func TestApproveShowsTheHost(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindBlock, Subject: "https://files.pythonhosted.org.cdn.example/simple/", Host: "files.pythonhosted.org.cdn.example"}, testTime)
	var watched syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // watch prints the pending requests, then sees ctx ended
	if err := watch(ctx, f.store(t), &watched, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if want := "\tblock\tfiles.pythonhosted.org.cdn.example\thttps://"; !strings.Contains(watched.String(), want) {
		t.Errorf("watch: %q", watched.String())
	}
	if out := f.mustOperator(t, "ls"); !strings.Contains(out, "block  files.pythonhosted.org.cdn.example  https://") {
		t.Errorf("ls:\n%s", out)
	}
	out := f.mustOperator(t, "approve", "r1")
	if want := "approved r1 (block https://files.pythonhosted.org.cdn.example/simple/); added host files.pythonhosted.org.cdn.example to pipelock's allowlist\n"; out != want {
		t.Errorf("approve printed %q, want %q", out, want)
	}
	assertAllowed(t, f, "files.pythonhosted.org.cdn.example")
}

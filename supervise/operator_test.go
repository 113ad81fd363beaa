package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

func TestLs(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "a.example.org", Host: "a.example.org", Reason: "docs"}, testTime)
	s.Ask(Ask{Kind: KindCapability, Subject: "line one\nline two", Reason: ""}, testTime.Add(time.Second))
	s.Decide("r1", true, "ok", testTime.Add(2*time.Second), nil)
	s.Delivered("r1", testTime.Add(3*time.Second))

	want := `ID  STATUS    ASKED                 KIND        SUBJECT            REASON  NOTE
r1  approved  2026-01-02T03:04:05Z  egress      a.example.org      docs    ok
r2  pending   2026-01-02T03:04:06Z  capability  line one line two
`
	if got := f.mustOperator(t, "ls"); got != want {
		t.Errorf("ls\n%q\nwant\n%q", got, want)
	}
	want = `TIME                  EVENT      ID  KIND        SUBJECT            REASON/NOTE
2026-01-02T03:04:05Z  request    r1  egress      a.example.org      docs
2026-01-02T03:04:06Z  request    r2  capability  line one line two
2026-01-02T03:04:07Z  approve    r1                                 ok
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
	want := "r2\t2026-01-02T03:04:05Z\tegress\tb.example.org\twhy\n" +
		"r3\t2026-01-02T03:04:05Z\tblock\thttps://c.example.org/x\tnpm\n"
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

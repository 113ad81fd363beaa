package main

import (
	"context"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/shell"
)

// TestLogsShowGuestEscapesVisibly: git-gate logs what the guest sent it, so
// `logs` must not let the guest retitle the window, erase lines or draw
// fake ones (issue 10, finding 5).
func TestLogsShowGuestEscapesVisibly(t *testing.T) {
	attack := "[git-gate] request \x1b]0;pwned\a\x1b[2J\x1b[1A\r[supervise] approved r9\u009b2J\u202egnp.exe\n"
	rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
		if c.Argv[1] == "inspect" { // logs finds the bundle first
			return shell.Reply{Stdout: `{"claude-bottle.name":"lg","claude-bottle.role":"bundle"}` + "\n"}
		}
		return shell.Reply{Stdout: attack, Stderr: "[pipelock] \x1b[31mred\n"}
	}}
	d, out, errb := testDeps(rec)
	if code := run(context.Background(), []string{"claude-bottle", "logs", "lg"}, d); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, s := range []string{out.String(), errb.String()} {
		if strings.ContainsAny(s, "\x1b\a\r\u009b\u202e") {
			t.Errorf("raw control reached the terminal: %q", s)
		}
	}
	for _, want := range []string{`\x1b]0;pwned\a`, `\x1b[2J`, `\r[supervise]`, `\u009b2J`, `\u202egnp.exe`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks the visible %s: %q", want, out)
		}
	}
	if !strings.Contains(errb.String(), `[pipelock] \x1b[31mred`) {
		t.Errorf("stderr: %q", errb)
	}
}

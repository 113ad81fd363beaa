package shell

import (
	"context"
	"io"
	"strings"
	"sync"
)

// Recorder records every command instead of running it, and answers each
// from Answer (or with empty success). Tests use it to assert the exact
// command sequence and to inject failures.
type Recorder struct {
	// Answer, when set, decides each command's output and exit code.
	// It sees the index of the call (0-based) and the command.
	Answer func(i int, c Cmd) Reply

	mu    sync.Mutex
	calls []Call
}

var _ Runner = (*Recorder)(nil)

// Call is one recorded command.
type Call struct {
	Argv     []string
	Note     []string
	Stdin    []byte
	Attached bool
	// EnvNames are the names of the command's own variables (Cmd.Env);
	// their values are not recorded.
	EnvNames []string
}

// Reply is a recorded command's canned outcome.
type Reply struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run records c (draining its stdin) and replays Answer's reply.
func (r *Recorder) Run(ctx context.Context, c Cmd) error {
	call := Call{Argv: append([]string(nil), c.Argv...), Note: c.Note, Attached: c.Attached}
	for _, kv := range c.Env {
		name, _, _ := strings.Cut(kv, "=")
		call.EnvNames = append(call.EnvNames, name)
	}
	if c.Stdin != nil {
		b, err := io.ReadAll(c.Stdin)
		if err != nil {
			return &Error{Argv: c.Argv, ExitCode: -1, Err: err}
		}
		call.Stdin = b
	}
	r.mu.Lock()
	i := len(r.calls)
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	var rep Reply
	if r.Answer != nil {
		rep = r.Answer(i, c)
	}
	if c.Stdout != nil {
		io.WriteString(c.Stdout, rep.Stdout)
	}
	if c.Stderr != nil {
		io.WriteString(c.Stderr, rep.Stderr)
	}
	if err := ctx.Err(); err != nil {
		return &Error{Argv: c.Argv, ExitCode: -1, Err: err}
	}
	if rep.ExitCode != 0 {
		return &Error{Argv: c.Argv, ExitCode: rep.ExitCode, Stderr: rep.Stderr}
	}
	return nil
}

// Calls returns a copy of the recorded calls.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Transcript renders the recorded calls as the dry-run would print them.
func (r *Recorder) Transcript() string {
	var b strings.Builder
	for _, c := range r.Calls() {
		for _, n := range c.Note {
			b.WriteString(Comment(n))
		}
		b.WriteString(Join(c.Argv))
		b.WriteByte('\n')
	}
	return b.String()
}

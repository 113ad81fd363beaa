// Package shell runs every external command claude-bottle needs, through one
// seam (Runner) with three implementations: Exec runs them, DryRun prints
// them, Recorder records them for tests. Quote/Join render a command the same
// way everywhere: dry-run transcript, debug logs and errors.
package shell

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Cmd is one external command and its wiring.
type Cmd struct {
	// Argv is the program and its arguments. Never put a secret's value here.
	Argv []string
	// Stdin, Stdout, Stderr are the command's streams; nil means none
	// (Stdout/Stderr) or empty input (Stdin).
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Attached runs the command on claude-bottle's own stdin, stdout and
	// stderr (the agent session; a terminal passes through).
	Attached bool
	// Progress gives the command claude-bottle's own stderr as its stdout
	// and stderr, Stdout and Stderr unused: a terminal stays one for it
	// (docker build draws its progress there), and what it says is shown,
	// not kept for the error.
	Progress bool
	// Note is printed as shell comment lines before the command in the
	// dry-run transcript and the recorder's log: files placed in the guest
	// ("# owner mode path"), generated config. Real runs log it at debug.
	Note []string
	// Env are NAME=VALUE variables this command's environment has over the
	// runner's: a value a child takes by name (docker run -e NAME) that is
	// not claude-bottle's own. Values are never printed, logged or
	// recorded (only the names, by the recorder): say what they are in
	// Note.
	Env []string
}

// String is the command as one POSIX-quoted line.
func (c Cmd) String() string { return Join(c.Argv) }

// Runner runs commands. Run returns a *Error when the command ran and
// failed, or could not be started.
type Runner interface {
	Run(ctx context.Context, c Cmd) error
}

// Output runs argv and returns its stdout with surrounding whitespace trimmed.
func Output(ctx context.Context, r Runner, argv ...string) (string, error) {
	var out bytes.Buffer
	err := r.Run(ctx, Cmd{Argv: argv, Stdout: &out})
	return strings.TrimSpace(out.String()), err
}

// Run runs argv with no input and discards its output (stderr still reaches
// the error on failure).
func Run(ctx context.Context, r Runner, argv ...string) error {
	return r.Run(ctx, Cmd{Argv: argv})
}

// Error is the one error type of a failed command: its argv, exit code
// (-1 when it did not start or was killed) and what it wrote to stderr.
type Error struct {
	Argv     []string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(Join(e.Argv))
	if e.ExitCode >= 0 {
		b.WriteString(": exit status ")
		b.WriteString(strconv.Itoa(e.ExitCode))
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString(": ")
		b.WriteString(s)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the exit code of the first *Error in err's chain, or -1.
func ExitCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.ExitCode
	}
	return -1
}

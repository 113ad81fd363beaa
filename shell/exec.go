package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Exec runs commands for real.
type Exec struct {
	// Env is the environment of every command (claude-bottle's own, so that
	// `docker run -e NAME` can take a secret's value from it by name).
	Env []string
	// Stdin, Stdout, Stderr are claude-bottle's own streams, used by attached commands.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Log            logrus.FieldLogger
	// Grace is how long a cancelled command gets after SIGTERM before SIGKILL.
	Grace time.Duration
}

var _ Runner = (*Exec)(nil)

// maxStderr bounds the stderr kept for an error message.
const maxStderr = 64 << 10

// Run starts c, waits for it, and returns a *Error if it fails. When ctx is
// cancelled the command gets SIGTERM, then SIGKILL after Grace.
func (r *Exec) Run(ctx context.Context, c Cmd) error {
	if len(c.Argv) == 0 {
		return errors.New("shell: empty command")
	}
	if r.Log != nil {
		for _, n := range c.Note {
			r.Log.Debugf("# %s", n)
		}
		r.Log.Debugf("run: %s", c)
	}
	prog, err := r.lookPath(c.Argv[0])
	if err != nil {
		return &Error{Argv: c.Argv, ExitCode: -1, Err: err}
	}
	cmd := exec.CommandContext(ctx, prog, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Env = r.Env
	if len(c.Env) > 0 {
		base := r.Env
		if base == nil {
			base = os.Environ()
		}
		cmd.Env = append(append([]string(nil), base...), c.Env...) // the last value of a name wins
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if !c.Attached {
		// Its own process group: a cancel reaches the command's children too
		// (they may hold its pipes open). An attached command stays in ours,
		// the terminal's foreground group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	}
	cmd.WaitDelay = r.Grace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 3 * time.Second
	}
	var stderr tailBuffer
	switch {
	case c.Attached:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = r.Stdin, r.Stdout, r.Stderr
	case c.Progress:
		cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, r.Stderr, r.Stderr
	default:
		cmd.Stdin = c.Stdin
		cmd.Stdout = c.Stdout
		cmd.Stderr = &stderr
		if c.Stderr != nil {
			cmd.Stderr = io.MultiWriter(c.Stderr, &stderr)
		}
	}
	start := time.Now()
	err = cmd.Run()
	if r.Log != nil {
		r.Log.Debugf("done in %s: %s", time.Since(start).Round(time.Millisecond), c.Argv[0])
	}
	if err == nil {
		return nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode() // -1 when killed by a signal
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return &Error{Argv: c.Argv, ExitCode: code, Stderr: stderr.String(), Err: err}
}

// tailBuffer keeps the last maxStderr bytes written to it.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - maxStderr; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }

// lookPath resolves a program name on the PATH of the runner's Env, not of
// claude-bottle's own process (a nil Env means the process's).
func (r *Exec) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") || r.Env == nil {
		return exec.LookPath(name)
	}
	path := ""
	for _, kv := range r.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH", name)
}

package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExecOutputAndError(t *testing.T) {
	r := &Exec{Env: []string{"PATH=/usr/bin:/bin"}}
	var out bytes.Buffer
	if err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo hi"}, Stdout: &out}); err != nil || out.String() != "hi\n" {
		t.Fatalf("out %q, err %v", out.String(), err)
	}
	err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo oops >&2; exit 3"}})
	var e *Error
	if !errors.As(err, &e) || e.ExitCode != 3 || e.Stderr != "oops\n" {
		t.Fatalf("err = %#v", err)
	}
	if want := `sh -c 'echo oops >&2; exit 3': exit status 3: oops`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestExecUsesItsOwnPath(t *testing.T) {
	r := &Exec{Env: []string{"PATH=" + t.TempDir()}}
	err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "true"}})
	if err == nil || !strings.Contains(err.Error(), "sh: executable file not found in $PATH") || ExitCode(err) != -1 {
		t.Fatalf("err = %v", err)
	}
}

// TestCommandEnv: a command's own variables win over the runner's for that
// command alone, and no runner prints or records their values.
func TestCommandEnv(t *testing.T) {
	r := &Exec{Env: []string{"PATH=/usr/bin:/bin", "KEY=host-value"}}
	var out bytes.Buffer
	c := Cmd{Argv: []string{"sh", "-c", "echo $KEY"}, Env: []string{"KEY=command-value"}, Stdout: &out}
	if err := r.Run(context.Background(), c); err != nil || out.String() != "command-value\n" {
		t.Fatalf("out %q, err %v", out.String(), err)
	}
	out.Reset()
	if err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo $KEY"}, Stdout: &out}); err != nil || out.String() != "host-value\n" {
		t.Fatalf("the next command: out %q, err %v", out.String(), err)
	}
	var w bytes.Buffer
	(&DryRun{W: &w}).Run(context.Background(), c)
	rec := &Recorder{}
	rec.Run(context.Background(), c)
	if strings.Contains(w.String(), "command-value") || strings.Contains(strings.Join(rec.Calls()[0].EnvNames, " "), "command-value") ||
		strings.Join(rec.Calls()[0].EnvNames, " ") != "KEY" {
		t.Errorf("a value shows: dry-run %q, recorded %v", w.String(), rec.Calls()[0])
	}
}

func TestExecCancelSendsTerm(t *testing.T) {
	r := &Exec{Env: []string{"PATH=/usr/bin:/bin"}, Grace: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The shell exits 7 on TERM: proof that it got TERM, not KILL.
	err := r.Run(ctx, Cmd{Argv: []string{"sh", "-c", "trap 'exit 7' TERM; sleep 10 & wait"}})
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %s to stop", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || ExitCode(err) != 7 {
		t.Errorf("err = %v (exit %d), want the context's error and exit 7", err, ExitCode(err))
	}
}

func TestDryRunPlaceholders(t *testing.T) {
	var w, out bytes.Buffer
	d := &DryRun{W: &w}
	d.Run(context.Background(), Cmd{Argv: []string{"docker", "port", "b", "9418/tcp"}, Stdout: &out, Note: []string{"a note", "", "x"}})
	if out.String() != "127.0.0.1:49418\n" {
		t.Errorf("placeholder %q", out.String())
	}
	if want := "# a note\n#\n# x\ndocker port b 9418/tcp\n"; w.String() != want {
		t.Errorf("transcript %q, want %q", w.String(), want)
	}
}

// TestExecProgressPassesStderrThrough: a Progress command writes to
// claude-bottle's own stderr itself, both its streams, so a terminal stays
// a terminal for it (docker build's live view); Stdin still reaches it.
func TestExecProgressPassesStderrThrough(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &Exec{Env: []string{"PATH=/usr/bin:/bin"}, Stderr: f}
	script := `cat; readlink /proc/self/fd/1; readlink /proc/self/fd/2 >&2`
	if err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", script}, Stdin: strings.NewReader("in\n"), Progress: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(f.Name())
	if want := "in\n" + f.Name() + "\n" + f.Name() + "\n"; string(got) != want {
		t.Errorf("stderr file holds %q, want %q (the command's own fds 1 and 2 are that file)", got, want)
	}
}

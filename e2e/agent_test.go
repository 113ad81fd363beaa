//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAgentSession on both backends: `launch --detach -- -p X` runs the
// stand-in claude in its session in the guest. ls shows it running; logs
// --agent shows what it printed; attach, driven through a pseudo-terminal,
// joins it and Ctrl-b d leaves it running (a wait started before goes on
// waiting); a second attach types the line the agent reads, and the
// agent's exit ends the attach; wait returns the agent's exit status; ls
// shows "exited 7". A wait whose bottle is stopped fails with exit 1.
func TestAgentSession(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend == "smolmachines")
			cb := func(args ...string) []string { return append([]string{"--backend", backend}, args...) }
			launch := func(name string, env ...string) {
				args := cb("launch", "--detach", "--name", name)
				if backend == "smolmachines" {
					args = append(args, "--smolvm-net", "tsi")
				}
				for _, kv := range env {
					args = append(args, "--env", kv)
				}
				e.stopAtEnd(name)
				if out := e.mustCB(append(args, "--", "-p", "fix it; now")...); out != name {
					t.Fatalf("launch printed %q, want %s", out, name)
				}
			}
			name := "e2e-a-" + uniq()
			launch(name, "CLAUDE_STANDIN_SAY=hello-from-the-agent", "CLAUDE_STANDIN_READ=READY-FOR-A-LINE", "CLAUDE_STANDIN_EXIT=7")

			if got := agentState(t, e, cb, name); got != "running" {
				t.Errorf("ls: agent %q, want running", got)
			}
			waitFor(t, "the agent's prompt in logs --agent", time.Minute, func() error {
				out := e.mustCB(cb("logs", name, "--agent")...)
				for _, want := range []string{"hello-from-the-agent\narg: -p\narg: fix it; now\nREADY-FOR-A-LINE"} {
					if !strings.Contains(out, want) {
						return fmt.Errorf("logs --agent:\n%s\nwant %q", out, want)
					}
				}
				return nil
			})

			waiting := startCB(t, e, cb("wait", name)...)

			// Attach and detach: the agent runs on, the wait goes on waiting.
			a := attach(t, e, cb("attach", name)...)
			a.expect("READY-FOR-A-LINE")
			a.send("\x02")
			time.Sleep(300 * time.Millisecond)
			a.send("d")
			if err := a.wait(); err != nil {
				t.Fatalf("attach after Ctrl-b d: %v\nstderr:\n%s", err, a.stderr.String())
			}
			if !strings.Contains(a.stderr.String(), "detached: the agent of bottle "+name+" runs on") {
				t.Errorf("attach's stderr after the detach:\n%s", a.stderr.String())
			}
			if got := agentState(t, e, cb, name); got != "running" {
				t.Errorf("after the detach, ls: agent %q, want running", got)
			}
			select {
			case <-waiting.done:
				t.Fatalf("wait returned while the agent ran: %v\n%s", waiting.err, waiting.stderr.String())
			default:
			}

			// Attach again and answer: the agent exits 7, which ends the attach.
			a = attach(t, e, cb("attach", name)...)
			a.expect("READY-FOR-A-LINE")
			a.send("bye\r")
			if err := a.wait(); err != nil {
				t.Fatalf("attach when the agent exits: %v\nstderr:\n%s", err, a.stderr.String())
			}
			if !strings.Contains(a.stderr.String(), "exited with status 7") {
				t.Errorf("attach's stderr after the agent exited:\n%s", a.stderr.String())
			}
			select {
			case <-waiting.done:
			case <-time.After(time.Minute):
				t.Fatal("wait did not return after the agent exited")
			}
			if code := exitCode(waiting.err); code != 7 {
				t.Errorf("wait exited %d (%v), want the agent's 7\nstderr:\n%s", code, waiting.err, waiting.stderr.String())
			}
			if out := e.mustCB(cb("logs", name, "--agent")...); !strings.Contains(out, "read: bye") {
				t.Errorf("logs --agent after the exit:\n%s", out)
			}
			if got := agentState(t, e, cb, name); got != "exited 7" {
				t.Errorf("ls: agent %q, want exited 7", got)
			}
			if _, errs, err := e.cb(cb("attach", name)...); err != nil || !strings.Contains(errs, "has exited with status 7") {
				t.Errorf("attach to the exited agent: %v\n%s", err, errs)
			}

			// A bottle stopped while a wait runs: the wait fails, exit 1.
			gone := "e2e-g-" + uniq()
			launch(gone, "CLAUDE_STANDIN_SLEEP=600")
			w := startCB(t, e, cb("wait", gone)...)
			time.Sleep(2 * time.Second)
			e.mustCB(cb("stop", gone)...)
			select {
			case <-w.done:
			case <-time.After(2 * time.Minute):
				t.Fatal("wait did not return after the bottle was stopped")
			}
			if code := exitCode(w.err); code != 1 || !strings.Contains(w.stderr.String(), "wait "+gone+": the bottle is gone") {
				t.Errorf("wait on a stopped bottle: exit %d, stderr:\n%s", code, w.stderr.String())
			}
			if _, errs, err := e.cb(cb("wait", gone)...); exitCode(err) != 1 || !strings.Contains(errs, "no bottle named "+gone+" (see claude-bottle ls)") {
				t.Errorf("wait on a gone bottle: %v\n%s", err, errs)
			}
		})
	}
}

// agentState is the AGENT of the bottle in ls --json.
func agentState(t *testing.T, e *bottleEnv, cb func(...string) []string, name string) string {
	t.Helper()
	var ls []struct{ Name, Agent string }
	out := e.mustCB(cb("ls", "--json")...)
	must(t, json.Unmarshal([]byte(out), &ls))
	for _, b := range ls {
		if b.Name == name {
			return b.Agent
		}
	}
	t.Fatalf("ls --json does not list %s:\n%s", name, out)
	return ""
}

// background is a claude-bottle started in the background.
type background struct {
	done   chan struct{}
	err    error
	stderr bytes.Buffer
}

func startCB(t *testing.T, e *bottleEnv, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b := &background{done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, filepath.Join(bins.dir, "claude-bottle"), args...)
	cmd.Env, cmd.Stderr = e.env, &b.stderr
	must(t, cmd.Start())
	go func() { b.err = cmd.Wait(); cancel(); close(b.done) }()
	t.Cleanup(func() { cancel(); <-b.done })
	return b
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// terminal is claude-bottle run on a pseudo-terminal, as a user runs it.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	exited chan error
	mu     sync.Mutex
	screen bytes.Buffer // everything written to the terminal
	stderr bytes.Buffer
}

// attach starts claude-bottle with its stdin and stdout on a new terminal
// (its controlling terminal; stderr apart, for its log lines).
func attach(t *testing.T, e *bottleEnv, args ...string) *terminal {
	t.Helper()
	master, slave, err := openPTY()
	must(t, err)
	term := &terminal{t: t, master: master, exited: make(chan error, 1)}
	term.cmd = exec.Command(filepath.Join(bins.dir, "claude-bottle"), args...)
	term.cmd.Env = append(e.env, "TERM=xterm-256color")
	term.cmd.Stdin, term.cmd.Stdout, term.cmd.Stderr = slave, slave, &term.stderr
	term.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	must(t, term.cmd.Start())
	slave.Close()
	go func() { term.exited <- term.cmd.Wait() }()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return // EIO once claude-bottle and its children closed the terminal
			}
		}
	}()
	t.Cleanup(func() {
		term.cmd.Process.Kill() // when it is still running
		master.Close()
	})
	return term
}

// expect waits until the terminal showed text.
func (term *terminal) expect(text string) {
	term.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		term.mu.Lock()
		found := bytes.Contains(term.screen.Bytes(), []byte(text))
		term.mu.Unlock()
		if found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	term.t.Fatalf("the terminal never showed %q; it showed %q\nstderr:\n%s", text, term.screen.String(), term.stderr.String())
}

// send types keys.
func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(keys)); err != nil {
		term.t.Fatal(err)
	}
}

// wait waits for claude-bottle to exit (at most a minute).
func (term *terminal) wait() error {
	select {
	case err := <-term.exited:
		return err
	case <-time.After(time.Minute):
		term.cmd.Process.Kill()
		return fmt.Errorf("still running after a minute; the terminal showed %q", term.screen.String())
	}
}

// openPTY opens a new pseudo-terminal pair (/dev/ptmx, unlocked), 120x40.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err == nil {
		var n int
		if n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN); err == nil {
			slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
		}
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	return master, slave, nil
}

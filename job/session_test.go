package job

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// localTmux runs the session's guest commands on this machine, with a tmux
// server of the test's own (TMUX_TMPDIR), in dir.
type localTmux struct {
	t        *testing.T
	dir, env string
}

func newLocalTmux(t *testing.T) *localTmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("no tmux")
	}
	l := &localTmux{t: t, dir: t.TempDir(), env: t.TempDir()}
	t.Cleanup(func() { l.run(tmuxArgv("kill-server")...) })
	return l
}

// run runs argv and returns its stdout and exit status.
func (l *localTmux) run(argv ...string) (string, int) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = l.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMUX_TMPDIR=" + l.env, "HOME=" + l.dir, "LC_ALL=C.UTF-8"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		l.t.Fatalf("%s: %v", shell.Join(argv), err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// start starts agent as a detached launch does; it must return at once.
func (l *localTmux) start(agent ...string) {
	l.t.Helper()
	done := make(chan int, 1)
	go func() { _, code := l.run(StartArgv(agent)...); done <- code }()
	select {
	case code := <-done:
		if code != 0 {
			l.t.Fatalf("starting the session: exit %d", code)
		}
	case <-time.After(10 * time.Second):
		l.t.Fatal("starting the session did not return")
	}
}

func (l *localTmux) state(mode string) AgentState {
	l.t.Helper()
	out, code := l.run(stateArgv(mode)...)
	if code != 0 {
		l.t.Fatalf("state script: exit %d", code)
	}
	st, err := ParseState(out)
	if err != nil {
		l.t.Fatal(err)
	}
	return st
}

func (l *localTmux) logs() string {
	l.t.Helper()
	var b bytes.Buffer
	out, code := l.run(logsArgv()...)
	if code != 0 {
		l.t.Fatalf("logs script: exit %d", code)
	}
	w := &trailingBlanks{w: &b}
	w.Write([]byte(out))
	w.Close()
	return b.String()
}

// startDelay comes before the output of a test agent that exits at once:
// tmux 3.3a sometimes shows an empty pane for a process that prints and
// exits within milliseconds of the start (about 1 in 30 runs here; none
// with the delay, nor when it lives on after printing). Claude Code takes
// longer than that to start.
const startDelay = "sleep 0.3; "

// The agent's arguments reach it unchanged through tmux: one ending in
// ';' (tmux's command separator when it is a separate argument), a format
// and a tilde; it runs in the exec's directory; wait returns its status
// and logs show what it printed, without the screen's empty rows.
func TestSessionRunsTheAgentAsGiven(t *testing.T) {
	l := newLocalTmux(t)
	args := []string{"fix it;", "#{pane_id}", "~", "a;b", "$HOME", ";"}
	l.start(append([]string{"sh", "-c", startDelay + `printf '[%s]\n' "$PWD" "$@"; exit 3`, "claude"}, args...)...)
	if st := l.state("wait"); st != (AgentState{State: Exited, Code: 3}) {
		t.Fatalf("wait: %v, want exited 3", st)
	}
	want := "[" + l.dir + "]\n"
	for _, a := range args {
		want += "[" + a + "]\n"
	}
	if got := l.logs(); got != want {
		t.Errorf("logs:\n%q\nwant\n%q", got, want)
	}
	if st := l.state("state"); st.String() != "exited 3" {
		t.Errorf("state after exit: %v", st)
	}
}

// The prompt form of provision.AgentCommand (sh -c, the prompt file read
// in the guest) runs as the session's command too.
func TestSessionRunsThePromptForm(t *testing.T) {
	l := newLocalTmux(t)
	argv := provision.AgentCommand([]string{"-p"}, true)
	script := strings.ReplaceAll(argv[2], provision.PromptPath, filepath.Join(l.dir, "prompt"))
	script = startDelay + strings.Replace(script, "exec claude", `exec printf '<%s>\n'`, 1)
	must(t, os.WriteFile(filepath.Join(l.dir, "prompt"), []byte("do it; now"), 0o600))
	l.start(append([]string{argv[0], argv[1], script}, argv[3:]...)...)
	l.state("wait")
	if got := l.logs(); got != "<-p>\n<do it; now>\n" {
		t.Errorf("logs: %q", got)
	}
}

func TestSessionStates(t *testing.T) {
	l := newLocalTmux(t)
	if st := l.state("state"); st.State != None {
		t.Fatalf("before any session: %v, want none", st)
	}
	if out, code := l.run(logsArgv()...); code != exitNoSession {
		t.Errorf("logs with no session: exit %d (%q), want %d", code, out, exitNoSession)
	}
	l.start("sleep", "60")
	if st := l.state("state"); st.State != Running {
		t.Fatalf("sleeping agent: %v, want running", st)
	}
	l.run(tmuxArgv("kill-server")...)
	if st := l.state("wait"); st.State != None {
		t.Errorf("after the server is gone: %v, want none", st)
	}
	l.start("sh", "-c", "kill -9 $$")
	if st := l.state("wait"); st != (AgentState{State: Exited, Code: 137}) {
		t.Errorf("agent killed by SIGKILL: %v, want exited 137", st)
	}
}

// A wait that starts while the agent runs returns once it exits.
func TestSessionWaitBlocksUntilExit(t *testing.T) {
	l := newLocalTmux(t)
	l.start("sh", "-c", "sleep 2; exit 5")
	start := time.Now()
	if st := l.state("wait"); st != (AgentState{State: Exited, Code: 5}) {
		t.Fatalf("wait: %v, want exited 5", st)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("wait returned after %s, before the agent exited", d)
	}
}

// tmux 3.3a loses the SIGCHLD of an agent that exits while it runs
// libutempter's helper for the closed terminal (about every second run of
// this agent): the state script makes it reap, and the status comes.
func TestSessionStatusOfAQuickExit(t *testing.T) {
	for i := range 6 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			l := newLocalTmux(t)
			l.start("sh", "-c", "sleep 1; exit 5")
			time.Sleep(1500 * time.Millisecond)
			if st := l.state("state"); st != (AgentState{State: Exited, Code: 5}) {
				t.Errorf("after the agent exited: %v, want exited 5", st)
			}
		})
	}
}

func TestParseState(t *testing.T) {
	good := map[string]AgentState{
		"none\n":        {State: None},
		"pane 0::\n":    {State: Running},
		"pane 1:0:\n":   {State: Exited},
		"pane 1:255:\n": {State: Exited, Code: 255},
		"pane 1::15\n":  {State: Exited, Code: 143},
		"pane 1::\n":    {State: Running}, // dead, not reaped yet
	}
	for in, want := range good {
		if got, err := ParseState(in); err != nil || got != want {
			t.Errorf("ParseState(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// What a hostile guest may print instead.
	for _, in := range []string{"", "running", "exited 0", "pane 1:256:", "pane 1:3:9", "pane 1::0", "pane 1::128",
		"pane 1:-1:", "pane 1:3:\x1b[2J", "none\nnone", "pane 2::", "pane 0::\npane 1:0:", " pane 1:1:x"} {
		if got, err := ParseState(in); err == nil {
			t.Errorf("ParseState(%q) = %v, want an error", in, got)
		}
	}
	if _, err := ParseState("\x1b]0;owned\x07"); err == nil || !strings.Contains(err.Error(), `\x1b]0;owned\a`) {
		t.Errorf("the error does not show the guest's bytes quoted: %v", err)
	}
}

// Wait runs the guest's wait again while it answers running, and stops at
// the first other answer or error; a dry-run prints it once.
func TestWaitLoops(t *testing.T) {
	answers := []shell.Reply{{Stdout: "pane 0::\n"}, {Stdout: "pane 0::\n"}, {Stdout: "pane 1:7:\n"}}
	r := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply { return answers[min(i, len(answers)-1)] }}
	b := Bottle{Name: "b", Backend: Docker, Agent: "claude-bottle-b-agent"}
	st, err := Wait(context.Background(), r, b, false)
	if err != nil || st != (AgentState{State: Exited, Code: 7}) || len(r.Calls()) != 3 {
		t.Fatalf("Wait = %v, %v after %d calls; want exited 7 after 3", st, err, len(r.Calls()))
	}
	want := []string{"docker", "exec", "-u", "node", "claude-bottle-b-agent", "sh", "-c", stateScript, stateScriptName, "wait"}
	if got := r.Calls()[0].Argv; !slices.Equal(got, want) {
		t.Errorf("argv %q, want %q", got, want)
	}
	failing := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply { return shell.Reply{ExitCode: 1, Stderr: "No such container"} }}
	if _, err := Wait(context.Background(), failing, b, false); err == nil || len(failing.Calls()) != 1 {
		t.Errorf("a failing guest command: %v after %d calls, want an error after 1", err, len(failing.Calls()))
	}
	dry := &shell.Recorder{}
	if _, err := Wait(context.Background(), dry, b, true); err != nil || len(dry.Calls()) != 1 {
		t.Errorf("dry-run: %v after %d calls, want one call", err, len(dry.Calls()))
	}
}

func TestLogsNoSession(t *testing.T) {
	r := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply { return shell.Reply{ExitCode: exitNoSession} }}
	b := Bottle{Name: "b", Backend: Smolmachines, Agent: "claude-bottle-b-agent"}
	if err := Logs(context.Background(), r, b, &bytes.Buffer{}); !errors.Is(err, ErrNoSession) {
		t.Errorf("Logs = %v, want ErrNoSession", err)
	}
	want := []string{"smolvm", "machine", "exec", "--name", "claude-bottle-b-agent", "--stream", "--",
		"runuser", "-u", "node", "--", "sh", "-c", logsScript, logsScriptName}
	if got := r.Calls()[0].Argv; !slices.Equal(got, want) {
		t.Errorf("argv %q, want %q", got, want)
	}
}

func TestTrailingBlanks(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"\n\n\n":                 "",
		"a\n\n\nb\n\n   \n\n":    "a\n\n\nb\n",
		"\n\na\n":                "\n\na\n",
		"a":                      "a",
		"a\n  ":                  "a\n",
		"line one\nline two\n\n": "line one\nline two\n",
	} {
		for _, chunk := range []int{1, 2, 1 << 20} { // written at once and in pieces
			var b bytes.Buffer
			w := &trailingBlanks{w: &b}
			for s := in; s != ""; {
				n := min(chunk, len(s))
				if _, err := w.Write([]byte(s[:n])); err != nil {
					t.Fatal(err)
				}
				s = s[n:]
			}
			must(t, w.Close())
			if b.String() != want {
				t.Errorf("%q in pieces of %d: %q, want %q", in, chunk, b.String(), want)
			}
		}
	}
	// One line without end is written as it comes, not held whole.
	var b bytes.Buffer
	w := &trailingBlanks{w: &b}
	w.Write(bytes.Repeat([]byte("x"), 3*maxHeld))
	if b.Len() < 2*maxHeld {
		t.Errorf("held %d bytes of an endless line", 3*maxHeld-b.Len())
	}
}

// A failing session command's error shows the guest's stderr visibly and
// leaves the script out; its exit status stays readable.
func TestSessionErrorIsVisible(t *testing.T) {
	r := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply {
		return shell.Reply{ExitCode: 7, Stderr: "oops\x1b]0;owned\x07\u202e"}
	}}
	_, err := State(context.Background(), r, Bottle{Name: "b", Backend: Docker, Agent: "claude-bottle-b-agent"})
	want := `the agent's state: docker exec -u node claude-bottle-b-agent sh -c '…' claude-bottle-agent state: exit status 7: oops\x1b]0;owned\a\u202e`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant\n%s", err, want)
	}
	if shell.ExitCode(err) != 7 {
		t.Errorf("exit code %d, want 7", shell.ExitCode(err))
	}
}

package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/display"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// The agent's session: a detached launch runs the agent in a tmux session
// in the guest, started by one ordinary exec that returns at once, the
// same on both backends. tmux's server outlives that exec: on docker it is
// a process of the container; smolvm runs every exec of an image machine
// in one keep-alive container whose PID 1 adopts what an exec leaves
// running (crates/smolvm-agent/src/main.rs, ensure_main_container). So no
// `exec -d` is needed, and smolvm's -d (no -i/-t, a PID on stdout) is not
// used.
//
// attach joins the session (exec -i -t, tmux attach; the detach key is
// tmux's own, Ctrl-b d). The pane outlives the agent (remain-on-exit), so
// its exit status (#{pane_dead_status}, the status tmux's waitpid saw) and
// its screen and scrollback stay readable: wait and ls read the status,
// logs --agent the text (capture-pane; tmux 3.3a may show an empty pane
// for a process that prints and exits within milliseconds of the start,
// which Claude Code does not). When the agent exits, tmux detaches
// whoever is attached (the pane-died hook): an attach ends with the agent.
//
// Everything the guest answers is checked: a state is one of three exact
// lines, and logs are printed through display by the caller.

const (
	// tmuxSocket is the server's socket name (tmux -L): a server of its
	// own, apart from any tmux the agent starts.
	tmuxSocket = "claude-bottle"
	// SessionName is the tmux session the agent runs in.
	SessionName = "agent"
	// historyLines is how much scrollback the pane keeps for logs --agent.
	historyLines = "50000"
)

// tmuxArgv is tmux on the bottle's server.
func tmuxArgv(args ...string) []string {
	return append([]string{"tmux", "-L", tmuxSocket}, args...)
}

// StartArgv starts the agent's session in the guest and returns at once:
// the server's options, then the session running agent (the argv of
// provision.AgentCommand). The options come first, in the same tmux
// command list, so that they hold before the agent can exit. The agent is
// handed to tmux as one shell command line (quoted by shell.Join, run by
// /bin/sh -c): tmux reads a separate argument ending in ';' as the end of
// a command, so an agent argument "fix it;" would be cut off otherwise;
// a quoted line never ends in ';'. It starts in the exec's directory (the
// workspace).
func StartArgv(agent []string) []string {
	return tmuxArgv(
		"set-option", "-g", "remain-on-exit", "on", ";", // the pane, its status and text outlive the agent
		"set-option", "-g", "remain-on-exit-format", "", ";", // no "Pane is dead (… time)" line in the text
		"set-option", "-g", "history-limit", historyLines, ";",
		"set-option", "-g", "default-shell", "/bin/sh", ";", // runs the command line: not node's login shell
		"set-option", "-g", "default-terminal", "tmux-256color", ";", // the agent's TERM (ncurses-base has it)
		"set-hook", "-g", "pane-died", "detach-client -s "+SessionName, ";", // an attach ends with the agent
		"new-session", "-d", "-s", SessionName,
		"-x", "200", "-y", "50", // the detached size: wide, so fewer lines wrap before anyone attaches
		"exec "+shell.Join(agent))
}

// attachArgv joins the session on the user's terminal.
func attachArgv() []string {
	return tmuxArgv("attach-session", "-t", SessionName)
}

// stateScript prints the session's state as one line: "pane DEAD:STATUS:SIGNAL"
// (tmux's #{pane_dead}, #{pane_dead_status}, #{pane_dead_signal}) while the
// session exists, "none" when it does not (no server, no session, no tmux).
// With "wait" it polls once a second while the agent runs, for at most
// waitRounds seconds; the host runs it again after that, so that a wait
// whose client went away (docker keeps an exec running when its client
// disconnects) leaves no loop behind for long.
//
// A pane dead with no status ("1::") has a process tmux has not reaped.
// tmux 3.3a (Debian 12) loses the SIGCHLD of an agent that exits while it
// runs libutempter's helper for the closed terminal (SIGCHLD is SIG_DFL
// meanwhile, and nothing raises it again): the agent stays a zombie and
// the status never comes (found: half of the runs of an agent that exits a
// second after the start). Any job's exit makes the server reap every
// child, so the script runs one (run-shell true) and asks again.
const stateScript = `t() { tmux -L ` + tmuxSocket + ` "$@" 2>/dev/null; }
max=` + waitRounds + `
[ "$1" = wait ] || max=2
n=0
while s=$(t display-message -p -t ` + SessionName + `: '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}'); do
  case $s in
  1::) t run-shell true ;;
  1:*) break ;;
  *) [ "$1" = wait ] || break ;;
  esac
  n=$((n + 1))
  [ $n -lt $max ] || break
  [ "$s" = 1:: ] && [ "$1" != wait ] || sleep 1
done
[ -n "$s" ] && echo "pane $s" || echo none
`

// waitRounds bounds one guest wait, in seconds.
const waitRounds = "600"

// logsScript prints the pane's scrollback and screen as plain text (no
// escape sequences), wrapped lines joined; exit status 3 when there is no
// session.
const logsScript = `tmux -L ` + tmuxSocket + ` has-session -t ` + SessionName + ` 2>/dev/null || exit 3
exec tmux -L ` + tmuxSocket + ` capture-pane -p -J -S - -E - -t ` + SessionName + `:
`

// The names the scripts run under ($0): the smolvm and docker stand-ins
// of the golden tests answer by them.
const (
	stateScriptName = "claude-bottle-agent"
	logsScriptName  = "claude-bottle-agent-logs"
	exitNoSession   = 3
)

func stateArgv(mode string) []string {
	return []string{"sh", "-c", stateScript, stateScriptName, mode}
}

func logsArgv() []string {
	return []string{"sh", "-c", logsScript, logsScriptName}
}

// Agent states.
const (
	Running = "running"
	Exited  = "exited"
	None    = "none" // no session: an attached launch's bottle, or the session is gone
)

// AgentState is what the agent's session says of it.
type AgentState struct {
	State string // Running, Exited or None
	Code  int    // the exit status when Exited (128+N after signal N, as a shell says)
}

func (a AgentState) String() string {
	if a.State == Exited {
		return Exited + " " + strconv.Itoa(a.Code)
	}
	return a.State
}

var paneRE = regexp.MustCompile(`^pane ([01]):([0-9]{0,3}):([0-9]{0,2})$`)

// ParseState reads stateScript's line. The guest is not trusted: anything
// but the exact forms is an error that shows what came (quoted).
func ParseState(out string) (AgentState, error) {
	line := strings.TrimSpace(out)
	if line == None {
		return AgentState{State: None}, nil
	}
	m := paneRE.FindStringSubmatch(line)
	if m == nil {
		return AgentState{}, fmt.Errorf("the guest answered %q, not an agent state", line)
	}
	if m[1] == "0" || m[2]+m[3] == "" { // dead with no status: not reaped yet (stateScript)
		return AgentState{State: Running}, nil
	}
	status, serr := strconv.Atoi(m[2])
	sig, gerr := strconv.Atoi(m[3])
	switch {
	case serr == nil && gerr != nil && status <= 255:
		return AgentState{State: Exited, Code: status}, nil
	case serr != nil && gerr == nil && sig > 0 && sig < 128:
		return AgentState{State: Exited, Code: 128 + sig}, nil
	}
	return AgentState{}, fmt.Errorf("the guest answered %q, not an exit status", line)
}

// State asks the guest for the agent's state (one exec).
func State(ctx context.Context, r shell.Runner, b Bottle) (AgentState, error) {
	return b.state(ctx, r, "state")
}

func (b Bottle) state(ctx context.Context, r shell.Runner, mode string) (AgentState, error) {
	var out bytes.Buffer
	err := r.Run(ctx, shell.Cmd{Argv: b.execArgv(stateArgv(mode)), Stdout: &out})
	if err != nil {
		return AgentState{}, guestError("the agent's state", err)
	}
	return ParseState(out.String())
}

// Wait blocks until the agent is no longer running and returns its state
// (Exited or None). One guest command blocks meanwhile (stateScript's
// wait), run again every waitRounds seconds. A dry-run prints it once.
func Wait(ctx context.Context, r shell.Runner, b Bottle, dryRun bool) (AgentState, error) {
	for {
		st, err := b.state(ctx, r, "wait")
		if dryRun {
			return AgentState{State: Exited}, nil
		}
		if err != nil || st.State != Running {
			return st, err
		}
	}
}

// ErrNoSession: the bottle's guest has no agent session.
var ErrNoSession = errors.New("no agent session (a detached launch starts one)")

// Logs writes the text of the agent's terminal to out: its scrollback and
// screen, without the screen's empty bottom rows. The caller makes it
// visible (display): it is the guest's.
func Logs(ctx context.Context, r shell.Runner, b Bottle, out io.Writer) error {
	w := &trailingBlanks{w: out}
	err := r.Run(ctx, shell.Cmd{Argv: b.execArgv(logsArgv()), Stdout: w})
	if shell.ExitCode(err) == exitNoSession {
		return ErrNoSession
	}
	if err != nil {
		return guestError("the agent's terminal", err)
	}
	return w.Close()
}

// trailingBlanks passes lines through, holding back empty ones until a
// line with text follows: the empty rows below a screen's last line are
// never written. A line is held until its end, or until it is maxHeld
// bytes long (then it is written in pieces: the guest may send one line
// without end).
type trailingBlanks struct {
	w       io.Writer
	line    []byte // the current line so far, not written yet
	started bool   // part of the current line was written
	blanks  int    // empty lines held back
	err     error
}

const maxHeld = 64 << 10

func (t *trailingBlanks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && t.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.line = append(t.line, p...)
			if len(t.line) >= maxHeld {
				t.emit(false)
			}
			break
		}
		t.line = append(t.line, p[:i]...)
		p = p[i+1:]
		if !t.started && len(bytes.TrimRight(t.line, " ")) == 0 {
			t.blanks++
			t.line = t.line[:0]
			continue
		}
		t.emit(true)
	}
	if t.err != nil {
		return 0, t.err
	}
	return n, nil
}

// emit writes the held-back empty lines, then the current line (and its
// newline when it ended).
func (t *trailingBlanks) emit(ended bool) {
	b := bytes.Repeat([]byte{'\n'}, t.blanks)
	b = append(b, t.line...)
	if ended {
		b = append(b, '\n')
	}
	t.blanks, t.line, t.started = 0, t.line[:0], !ended
	_, t.err = t.w.Write(b)
}

// Close writes a last line that had no newline, if it has text.
func (t *trailingBlanks) Close() error {
	if t.err == nil && (t.started || len(bytes.TrimRight(t.line, " ")) > 0) {
		t.emit(false)
	}
	return t.err
}

// sessionError is a session command in the guest failing. Its stderr is
// the guest's: shown visibly, its end only; the script is left out.
type sessionError struct {
	what string
	err  *shell.Error
}

func guestError(what string, err error) error {
	var se *shell.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return &sessionError{what: what, err: se}
}

func (e *sessionError) Error() string {
	argv := slices.Clone(e.err.Argv)
	if i := slices.Index(argv, "-c"); i >= 0 && i+1 < len(argv) {
		argv[i+1] = "…" // the script: its name follows
	}
	s := e.what + ": " + shell.Join(argv)
	if e.err.ExitCode >= 0 {
		s += ": exit status " + strconv.Itoa(e.err.ExitCode)
	} else if e.err.Err != nil {
		s += ": " + e.err.Err.Error()
	}
	if st := strings.TrimSpace(e.err.Stderr); st != "" {
		s += ": " + display.Visible(st[max(0, len(st)-maxGuestStderr):])
	}
	return s
}

func (e *sessionError) Unwrap() error { return e.err }

// guest reaches the agent the way a launch does (provision's argv
// builders): Attach is exec -i -t as the agent user in the workspace.
func (b Bottle) guest(r shell.Runner) provision.Guest {
	if b.Backend == Kubernetes {
		return b.Cluster.Guest(r, b.Namespace)
	}
	if b.Backend == Smolmachines {
		return provision.SmolvmGuest(r, b.Agent)
	}
	return provision.DockerGuest(r, b.Agent)
}

// Attach joins the agent's session on claude-bottle's own terminal until
// the user detaches (Ctrl-b d) or the agent exits.
func Attach(ctx context.Context, r shell.Runner, b Bottle) error {
	if err := b.guest(r).Attach(ctx, attachArgv(), true); err != nil {
		return fmt.Errorf("attach to the agent's session: %w", err)
	}
	return nil
}

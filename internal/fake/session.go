package fake

import (
	"fmt"
	"strconv"
	"strings"
)

// Session is the agent's tmux session (job/session.go) as the stand-ins
// keep it, per container or machine. No agent runs: the start records the
// session running; the first wait ends it with $FAKE_AGENT_EXIT (default
// 0); logs print $FAKE_AGENT_OUTPUT (Go string syntax, so that a script
// can put escape bytes in it) or a line naming the command, then the
// empty rows of a screen.
type Session struct {
	Command string `json:"command"`
	Exited  bool   `json:"exited,omitempty"`
	Code    int    `json:"code,omitempty"`
}

// The names job/session.go runs its scripts under ($0).
const (
	stateScriptName = "claude-bottle-agent"
	logsScriptName  = "claude-bottle-agent-logs"
)

// session answers the agent-session commands among a guest's: tmux
// new-session and attach-session, and the state and logs scripts.
// handled is false for any other argv.
func session(p *Proc, s **Session, argv []string) (code int, handled bool) {
	switch {
	case argv[0] == "tmux" && contains(argv, "new-session"):
		if *s != nil {
			fmt.Fprintln(p.Stderr, "duplicate session: agent")
			return 1, true
		}
		*s = &Session{Command: argv[len(argv)-1]}
		return 0, true
	case argv[0] == "tmux" && contains(argv, "attach-session"):
		if *s == nil {
			fmt.Fprintln(p.Stderr, "no server running on /tmp/tmux-1000/claude-bottle")
			return 1, true
		}
		fmt.Fprintln(p.Stdout, "[detached (from session agent)]")
		return 0, true
	case len(argv) >= 5 && argv[0] == "sh" && argv[1] == "-c" && argv[3] == stateScriptName:
		return sessionState(p, *s, argv[4]), true
	case len(argv) >= 4 && argv[0] == "sh" && argv[1] == "-c" && argv[3] == logsScriptName:
		return sessionLogs(p, *s), true
	}
	return 0, false
}

// sessionState prints what the state script prints; a wait ends the agent.
func sessionState(p *Proc, s *Session, mode string) int {
	switch {
	case s == nil:
		fmt.Fprintln(p.Stdout, "none")
		return 0
	case !s.Exited && mode == "wait":
		s.Exited = true
		if v, ok := p.Env("FAKE_AGENT_EXIT"); ok {
			s.Code, _ = strconv.Atoi(v)
		}
	case !s.Exited:
		fmt.Fprintln(p.Stdout, "pane 0::")
		return 0
	}
	if s.Code > 128 {
		fmt.Fprintf(p.Stdout, "pane 1::%d\n", s.Code-128) // killed by a signal
	} else {
		fmt.Fprintf(p.Stdout, "pane 1:%d:\n", s.Code)
	}
	return 0
}

func sessionLogs(p *Proc, s *Session) int {
	if s == nil {
		return 3
	}
	text := "fake agent ran: " + s.Command
	if v, ok := p.Env("FAKE_AGENT_OUTPUT"); ok {
		u, err := strconv.Unquote(`"` + v + `"`)
		if err != nil {
			fmt.Fprintf(p.Stderr, "fake: FAKE_AGENT_OUTPUT: %v\n", err)
			return 1
		}
		text = u
	}
	fmt.Fprint(p.Stdout, strings.TrimSuffix(text, "\n")+"\n"+strings.Repeat("\n", 5))
	return 0
}

// runuserArgv is argv without the `runuser -u USER --` that smolvm execs of
// the agent user start with.
func runuserArgv(argv []string) []string {
	if len(argv) > 4 && argv[0] == "runuser" && argv[1] == "-u" && argv[3] == "--" {
		return argv[4:]
	}
	return argv
}

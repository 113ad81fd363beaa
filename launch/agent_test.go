package launch

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/shell"
)

// ls asks each running guest for its agent's state, and only those; an
// answer that is no state is "unknown", with a warning that shows it
// quoted, and the others are still listed.
func TestListAgentStates(t *testing.T) {
	answers := map[string]string{
		"claude-bottle-a-agent": "pane 1:3:\n",
		"claude-bottle-b-agent": "pane 0::\n",
		"claude-bottle-c-agent": "\x1b[2Jpwned\n",
		"claude-bottle-e-agent": "none\n",
	}
	r := &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply { return shell.Reply{Stdout: answers[c.Argv[4]]} }}
	var logs bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logs)
	bs := (&Bottles{R: r, Log: log}).withAgents(context.Background(), []Bottle{
		{Name: "a", Backend: Docker, State: "running"},
		{Name: "b", Backend: Smolmachines, State: "running"},
		{Name: "c", Backend: Docker, State: "running"},
		{Name: "d", Backend: Docker, State: "exited"},
		{Name: "e", Backend: Docker, State: "running"},
	})
	var got []string
	for _, b := range bs {
		got = append(got, b.Name+"="+b.Agent)
	}
	if want := "a=exited 3 b=running c=unknown d=unknown e=none"; strings.Join(got, " ") != want {
		t.Errorf("agents %q, want %q", strings.Join(got, " "), want)
	}
	if n := len(r.Calls()); n != 4 {
		t.Errorf("%d guest commands, want one per running bottle (4)", n)
	}
	if !strings.Contains(logs.String(), `bottle c: the guest answered \"\\x1b[2Jpwned\", not an agent state`) {
		t.Errorf("warning: %s", logs.String())
	}
}

package launch

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/shell"
)

func id(n int) string { return fmt.Sprintf("%064x", n) }

// psLine is one line of `docker ps --format containerFormat`.
func psLine(n int, names, bottle, role string) string {
	return fmt.Sprintf(`{"ID":%q,"Names":%q,"State":"running","Ports":"","CreatedAt":"now","Bottle":%q,"Role":%q,"Backend":"docker"}`,
		id(n), names, bottle, role)
}

// TestOnlyOursAreFound: a resource is a bottle's when its role label and
// its name agree; labels inherited from an image, a name label that spells
// a second label, a role of another kind, and a bad name are not.
func TestOnlyOursAreFound(t *testing.T) {
	out := strings.Join([]string{
		psLine(1, "claude-bottle-b-bundle", "b", RoleBundle),
		psLine(2, "claude-bottle-b-agent", "b", RoleAgent),
		psLine(3, "unrelated", "b", ""),                                         // the label came with its image
		psLine(4, "claude-bottle-b-bundle2", "b", RoleBundle),                   // not the role's name
		psLine(5, "claude-bottle-c-bundle", "x", RoleBundle+","+LabelName+"=c"), // a value spelling a label
		psLine(6, "claude-bottle-b-net", "b", RoleNetwork),                      // a network's role on a container
		psLine(7, "claude-bottle-a/b-bundle", "a/b", RoleBundle),                // not a bottle name
		psLine(8, "claude-bottle-b-bundle,other", "b", RoleBundle),              // two names
	}, "\n")
	got, err := parseListed(out, kindContainer, "docker ps")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].id != id(1) || got[1].id != id(2) {
		t.Fatalf("found %+v, want the bundle and agent of b only", got)
	}
	if _, err := parseListed(`{"ID":"abc","Names":"claude-bottle-b-bundle","Bottle":"b","Role":"bundle"}`, kindContainer, "docker ps"); err == nil {
		t.Error("a short ID was accepted")
	}
}

// TestTeardownLooksUpWhatPrintedNoID: a create that failed without
// printing an ID (cancelled after the daemon created it) is found by its
// labels and name and removed by ID; nothing else that carries the labels.
func TestTeardownLooksUpWhatPrintedNoID(t *testing.T) {
	rec := &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
		if c.Argv[1] == "ps" {
			return shell.Reply{Stdout: psLine(1, "claude-bottle-b-agent", "b", RoleAgent) + "\n" +
				psLine(2, "claude-bottle-b-bundle", "b", RoleBundle) + "\n" + psLine(3, "other", "b", RoleAgent) + "\n"}
		}
		return shell.Reply{}
	}}
	td := &teardown{r: rec, serial: true}
	td.push("bundle claude-bottle-b-bundle", resource{kind: kindContainer, role: RoleBundle, bottle: "b", name: "claude-bottle-b-bundle", id: id(9)})
	td.push("agent container claude-bottle-b-agent", resource{kind: kindContainer, role: RoleAgent, bottle: "b", name: "claude-bottle-b-agent"})
	if left, err := td.run(context.Background()); err != nil || len(left) != 0 {
		t.Fatalf("run: left %v, %v", left, err)
	}
	var rms []string
	for _, c := range rec.Calls() {
		if c.Argv[1] == "rm" {
			rms = append(rms, strings.Join(c.Argv, " "))
		}
	}
	want := []string{"docker rm -f " + id(1), "docker rm -f " + id(9)}
	if strings.Join(rms, "\n") != strings.Join(want, "\n") {
		t.Errorf("removed:\n%s\nwant:\n%s", strings.Join(rms, "\n"), strings.Join(want, "\n"))
	}
}

// TestTeardownStopsWhenCancelled: once the context ends no command runs,
// and everything not removed is left, newest first.
func TestTeardownStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
		cancel(fmt.Errorf("a second signal"))
		return shell.Reply{}
	}}
	td := &teardown{r: rec}
	td.push("network n", resource{kind: kindNetwork, id: id(1)})
	td.push("bundle b", resource{kind: kindContainer, id: id(2)})
	left, err := td.run(ctx)
	if len(rec.Calls()) != 1 || len(left) != 2 || left[0].what != "bundle b" || left[1].what != "network n" {
		t.Fatalf("ran %d commands, left %v; want 1 and both", len(rec.Calls()), left)
	}
	if err == nil || !strings.Contains(err.Error(), "a second signal") {
		t.Errorf("err = %v, want the cause", err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/fake"
	"github.com/claude-bottle/claude-bottle/shell"
)

// kubeStandIn answers kubectl commands with the kubectl stand-in (its state
// in dir), every other command as answers does.
func kubeStandIn(dir string, rec *shell.Recorder, i int, c shell.Cmd) shell.Reply {
	if c.Argv[0] != "kubectl" {
		return answers(i, c)
	}
	var out, errb bytes.Buffer
	code := fake.Run("kubectl", &fake.Proc{Args: c.Argv[1:], Stdin: bytes.NewReader(rec.Calls()[i].Stdin),
		Stdout: &out, Stderr: &errb, Dir: dir, Env: func(string) (string, bool) { return "", false }})
	return shell.Reply{Stdout: out.String(), Stderr: errb.String(), ExitCode: code}
}

// foreignNamespace is a namespace of the bottle's name that someone else
// created (no labels).
const foreignNamespace = `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"claude-bottle-full"}}]}`

// TestEveryKubeFaultLeavesNothing makes each command of the full
// kubernetes launch fail in turn, against the kubectl stand-in: the launch
// fails (exit 1) with one error naming the step, the quoted command and
// its stderr; once the namespace was created it is deleted (one kubectl
// delete namespace, after the failure), and the stand-in holds nothing.
// When the namespace's create fails because the name was taken meanwhile
// (AlreadyExists), the namespace is someone else's: nothing is deleted.
func TestEveryKubeFaultLeavesNothing(t *testing.T) {
	args := fullLaunch(t, "kubernetes")
	dir := t.TempDir()
	clean := &shell.Recorder{}
	clean.Answer = func(i int, c shell.Cmd) shell.Reply { return kubeStandIn(dir, clean, i, c) }
	d, _, errb := testDeps(clean)
	if code := run(context.Background(), args, d); code != 0 {
		t.Fatalf("full launch: exit %d: %s", code, errb)
	}
	calls := clean.Calls()
	t.Logf("kubernetes: full launch runs %d commands", len(calls))
	kubectl, firstCreate := 0, true
	for k, c := range calls {
		j := shell.Join(c.Argv)
		if c.Argv[0] == "kubectl" {
			kubectl++
		}
		t.Run(fmt.Sprintf("fail-%02d", k), func(t *testing.T) { checkKubeFault(t, args, k, false) })
		if strings.HasPrefix(j, "kubectl create ") && firstCreate { // the namespace's
			firstCreate = false
			t.Run(fmt.Sprintf("fail-%02d-taken", k), func(t *testing.T) { checkKubeFault(t, args, k, true) })
		}
	}
	if kubectl < 10 {
		t.Fatalf("only %d kubectl commands in the full launch:\n%s", kubectl, clean.Transcript())
	}
}

// checkKubeFault fails command k; taken: the namespace appears just before
// command k (its create) runs, and the stand-in answers AlreadyExists.
func checkKubeFault(t *testing.T, args []string, k int, taken bool) {
	dir := t.TempDir()
	rec := &shell.Recorder{}
	rec.Answer = func(i int, c shell.Cmd) shell.Reply {
		if i != k {
			return kubeStandIn(dir, rec, i, c)
		}
		if taken {
			var out, errb bytes.Buffer
			if code := fake.Run("kubectl", &fake.Proc{Args: []string{"create", "--filename=-", "--output=name"},
				Stdin: strings.NewReader(foreignNamespace), Stdout: &out, Stderr: &errb, Dir: dir}); code != 0 {
				t.Fatalf("the foreign namespace: %s", errb.String())
			}
			return kubeStandIn(dir, rec, i, c)
		}
		return shell.Reply{ExitCode: 1, Stderr: fmt.Sprintf("boom-%d", k)}
	}
	d, out, errb := testDeps(rec)
	code := run(context.Background(), args, d)
	calls := rec.Calls()
	want := fmt.Sprintf("boom-%d", k)
	if taken {
		want = `Error from server (AlreadyExists): error when creating "STDIN": namespaces "claude-bottle-full" already exists`
	}
	if !checkFailedLaunch(t, rec, k, code, out.String(), errb.String(), want) {
		return
	}
	created, deleted := -1, []int{}
	for i, c := range calls {
		j := shell.Join(c.Argv)
		if strings.HasPrefix(j, "kubectl create ") && created < 0 && i <= k {
			created = i
		}
		if strings.HasPrefix(j, "kubectl delete namespace claude-bottle-full ") {
			deleted = append(deleted, i)
		}
	}
	// Ours once its create ran (a create that failed may still have
	// created it: the delete ignores a namespace that is not there), unless
	// the name was taken.
	ours := created >= 0 && !(taken && created == k)
	switch {
	case !ours && len(deleted) != 0:
		t.Errorf("deleted a namespace the launch did not create:\n%s", rec.Transcript())
	case ours && (len(deleted) != 1 || deleted[0] <= k):
		t.Errorf("want one kubectl delete namespace after the failure (command %d), got %v:\n%s", k, deleted, rec.Transcript())
	}
	left, err := fake.Leftovers(dir)
	must(t, err)
	wantLeft := ""
	if taken && created == k {
		wantLeft = "namespace claude-bottle-full\n" // someone else's: left alone
	}
	if left != wantLeft {
		t.Errorf("left behind:\n%s\nwant:\n%s\n%s", left, wantLeft, rec.Transcript())
	}
}

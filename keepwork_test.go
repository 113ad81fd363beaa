package main

import (
	"context"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/shell"
)

// isFetch is the guest side of a fetch: the one command that writes the
// guest's work as a bundle.
func isFetch(c shell.Cmd) bool {
	j := shell.Join(c.Argv)
	return strings.Contains(j, "-agent sh -c") && strings.Contains(j, "for-each-ref") ||
		strings.Contains(j, "--stream --") && strings.Contains(j, "for-each-ref")
}

// attachedLaunch is fullLaunch without --detach.
func attachedLaunch(t *testing.T, backend string) []string {
	var out []string
	for _, a := range fullLaunch(t, backend) {
		if a != "--detach" {
			out = append(out, a)
		}
	}
	return out
}

// firstRemoval is the index of the first teardown command, or -1.
func firstRemoval(calls []shell.Call) int {
	for i, c := range calls {
		j := shell.Join(c.Argv)
		if strings.HasPrefix(j, "docker rm ") || strings.HasPrefix(j, "smolvm machine delete ") || strings.HasPrefix(j, "docker network rm ") {
			return i
		}
	}
	return -1
}

// TestAttachedLaunchBringsWorkHomeFirst: when the agent exits — with 0 or
// with a failure — the guest's work is fetched before anything is removed
// (issue 11, never lost).
func TestAttachedLaunchBringsWorkHomeFirst(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		for _, agentExit := range []int{0, 3} {
			rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
				if c.Attached && agentExit != 0 {
					return shell.Reply{ExitCode: agentExit}
				}
				return answers(i, c)
			}}
			d, _, errb := testDeps(rec)
			code := run(context.Background(), attachedLaunch(t, backend), d)
			if code != agentExit {
				t.Fatalf("%s, agent exit %d: claude-bottle exit %d\n%s", backend, agentExit, code, errb)
			}
			calls := rec.Calls()
			fetch, rm := -1, firstRemoval(calls)
			for i, c := range calls {
				if isFetch(shell.Cmd{Argv: c.Argv}) {
					fetch = i
				}
			}
			if fetch < 0 || rm < 0 || fetch > rm {
				t.Errorf("%s, agent exit %d: fetch at %d, first removal at %d: the work must come home first\n%s", backend, agentExit, fetch, rm, rec.Transcript())
			}
		}
	}
}

// TestFailedFetchKeepsTheBottle: when the work cannot be brought home the
// teardown does not run; the error says how to retry or discard, exit 1.
func TestFailedFetchKeepsTheBottle(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
			if isFetch(c) {
				return shell.Reply{ExitCode: 1, Stderr: "guest gone"}
			}
			return answers(i, c)
		}}
		d, _, errb := testDeps(rec)
		code := run(context.Background(), attachedLaunch(t, backend), d)
		if code != exitFailed {
			t.Fatalf("%s: exit %d, want 1\n%s", backend, code, errb)
		}
		if i := firstRemoval(rec.Calls()); i >= 0 {
			t.Errorf("%s: removed something after a failed fetch: %s", backend, shell.Join(rec.Calls()[i].Argv))
		}
		fetch := "claude-bottle fetch full"
		if backend == "smolmachines" {
			fetch = "claude-bottle --backend smolmachines fetch full" // where the bottle is
		}
		for _, want := range []string{"was kept", fetch, "--discard"} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%s: the error lacks %q:\n%s", backend, want, errb)
			}
		}
	}
}

// TestStopFetchesFirstAndDiscardDoesNot: stop brings the work home before it
// removes; a failed fetch keeps the bottle (exit 1); --discard skips it.
func TestStopFetchesFirstAndDiscardDoesNot(t *testing.T) {
	labels := `{"claude-bottle.name":"b","claude-bottle.role":"agent","claude-bottle.backend":"docker","claude-bottle.repo":"` + t.TempDir() + `"}`
	answer := func(fetchFails bool) func(int, shell.Cmd) shell.Reply {
		return func(i int, c shell.Cmd) shell.Reply {
			j := shell.Join(c.Argv)
			switch {
			case strings.HasPrefix(j, "docker inspect --type container"):
				return shell.Reply{Stdout: labels + "\n"}
			case strings.HasPrefix(j, "docker ps"):
				return shell.Reply{Stdout: `{"ID":"` + fakeID("agent") + `","Names":"claude-bottle-b-agent","State":"running","Ports":"","CreatedAt":"now","Bottle":"b","Role":"agent","Backend":"docker"}` + "\n"}
			case isFetch(c) && fetchFails:
				return shell.Reply{ExitCode: 1, Stderr: "guest gone"}
			}
			return answers(i, c)
		}
	}
	for _, tc := range []struct {
		name       string
		args       []string
		fetchFails bool
		code       int
		fetch, rm  bool
	}{
		{"stop", []string{"claude-bottle", "stop", "b"}, false, 0, true, true},
		{"stop, fetch fails", []string{"claude-bottle", "stop", "b"}, true, 1, true, false},
		{"stop --discard", []string{"claude-bottle", "stop", "--discard", "b"}, true, 0, false, true},
	} {
		rec := &shell.Recorder{Answer: answer(tc.fetchFails)}
		d, _, errb := testDeps(rec)
		if code := run(context.Background(), tc.args, d); code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, errb)
		}
		fetched := false
		for _, c := range rec.Calls() {
			fetched = fetched || isFetch(shell.Cmd{Argv: c.Argv})
		}
		removed := firstRemoval(rec.Calls()) >= 0
		if fetched != tc.fetch || removed != tc.rm {
			t.Errorf("%s: fetched %v removed %v, want %v %v\n%s", tc.name, fetched, removed, tc.fetch, tc.rm, rec.Transcript())
		}
	}
}

//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// work is what the stand-in agent does when a test asks
// (CLAUDE_STANDIN_WORK): a commit on a branch of its own and an edit left
// uncommitted.
const work = `git -c user.name=agent -c user.email=agent@example.com switch -q -c agent-work &&
echo done > done.txt && git add done.txt &&
git -c user.name=agent -c user.email=agent@example.com commit -q -m 'agent work' &&
echo 'left uncommitted' >> README`

// TestNeverLost: every exit path brings the agent's work home as
// refs/remotes/bottle/NAME/* before the bottle is removed — the agent's
// exit, SIGINT, stop — and stop --discard is the only way to drop it.
func TestNeverLost(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) { neverLost(t, backend) })
	}
}

func neverLost(t *testing.T, backend string) {
	smol := backend == "smolmachines"
	launch := func(name string, w *world, extra ...string) []string {
		a := []string{"--backend", backend, "launch", "--name", name, "--cwd", w.repo}
		if smol {
			a = append(a, "--smolvm-net", "tsi")
		}
		return append(a, extra...)
	}
	setup := func(t *testing.T, prefix string) (*world, *bottleEnv, string) {
		w := &world{dir: t.TempDir()}
		w.hostRepo(t)
		e := newEnv(t, smol)
		name := prefix + uniq()
		e.stopAtEnd(name)
		return w, e, name
	}
	hasWork := func(t *testing.T, w *world, name string) bool {
		t.Helper()
		_, err1 := try("git", "-C", w.repo, "rev-parse", "--verify", "-q", "bottle/"+name+"/agent-work")
		_, err2 := try("git", "-C", w.repo, "show", "bottle/"+name+"/uncommitted:README")
		return err1 == nil && err2 == nil
	}
	agent := func(name string) guest {
		c := "claude-bottle-" + name + "-agent"
		if smol {
			c = "smolvm-" + c
		}
		return guest{t: t, container: c}
	}

	t.Run("the agent exits", func(t *testing.T) {
		w, e, name := setup(t, "e2e-nl-")
		e.mustCB(launch(name, w, "--env", "CLAUDE_STANDIN_WORK="+work, "--", "-p", "go")...)
		if !hasWork(t, w, name) {
			t.Errorf("the agent's work did not come home")
		}
		if left := leftovers(t, name); left != "" {
			t.Errorf("left behind:\n%s", left)
		}
	})

	t.Run("SIGINT", func(t *testing.T) {
		w, e, name := setup(t, "e2e-ni-")
		cmd := exec.Command(filepath.Join(bins.dir, "claude-bottle"),
			launch(name, w, "--env", "CLAUDE_STANDIN_WORK="+work, "--env", "CLAUDE_STANDIN_SLEEP=120", "--", "-p", "go")...)
		cmd.Env = e.env
		var errb strings.Builder
		cmd.Stderr = &errb
		must(t, cmd.Start())
		g := agent(name)
		waitFor(t, "the agent's commit", 90*time.Second, func() error {
			_, err := g.sh("node", "git rev-parse --verify -q agent-work && grep -q uncommitted README")
			return err
		})
		must(t, cmd.Process.Signal(syscall.SIGINT))
		err := cmd.Wait()
		if code := exitCodeOf(err); code != 130 {
			t.Errorf("exit %d after SIGINT, want 130:\n%s", code, errb.String())
		}
		if !hasWork(t, w, name) {
			t.Errorf("the work did not come home after SIGINT:\n%s", errb.String())
		}
		if left := leftovers(t, name); left != "" {
			t.Errorf("left behind:\n%s", left)
		}
	})

	for _, discard := range []bool{false, true} {
		what := "stop"
		if discard {
			what = "stop --discard"
		}
		t.Run(what, func(t *testing.T) {
			w, e, name := setup(t, "e2e-ns-")
			e.mustCB(launch(name, w, "--detach")...)
			agent(name).must("node", work)
			args := []string{"--backend", backend, "stop", name}
			if discard {
				args = append(args, "--discard")
			}
			e.mustCB(args...)
			if got := hasWork(t, w, name); got == discard {
				t.Errorf("%s: the work came home: %v, want %v", what, got, !discard)
			}
			if left := leftovers(t, name); left != "" {
				t.Errorf("left behind:\n%s", left)
			}
		})
	}
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

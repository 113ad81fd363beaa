//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worktreeSecret is in the host's ignored .env: it must not reach a guest.
const worktreeSecret = "S3CRET-e2e-dotenv"

// TestWorktree on both backends: a bottle launched with --cwd on a host
// repository with a stash and staged, unstaged, untracked, ignored (.env),
// deleted, renamed, executable and symlink changes starts from the host's
// HEAD with all of them uncommitted, and without .env; the files are the
// agent's; the guest records the base commit; the host repository is what
// it was. --head-only starts from HEAD alone.
func TestWorktree(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) {
			w := &world{dir: t.TempDir()}
			w.hostRepo(t)
			changeHost(t, w)
			before := hostState(t, w.repo)
			smol := backend == "smolmachines"
			e := newEnv(t, smol)
			launch := func(name string, extra ...string) guest {
				e.stopAtEnd(name)
				args := append([]string{"--backend", backend, "launch", "--detach", "--name", name, "--cwd", w.repo}, extra...)
				if smol {
					args = append(args, "--smolvm-net", "tsi")
				}
				e.mustCB(args...)
				container := "claude-bottle-" + name + "-agent"
				if smol {
					container = "smolvm-" + container
				}
				return guest{t: t, container: container}
			}

			g := launch("e2e-wt-" + uniq())
			want := strings.Join([]string{" M README", " M a.txt", " D gone.txt", " D old.txt", " M run.sh",
				"?? lnk", "?? new/u.txt", "?? renamed.txt"}, "\n")
			if st := g.must("node", "git status --porcelain --untracked-files=all"); st != strings.TrimSpace(want) {
				t.Errorf("git status in the guest:\n%s\nwant\n%s", st, want)
			}
			if got := g.must("node", "git rev-parse HEAD refs/claude-bottle/base"); got != w.head+"\n"+w.head {
				t.Errorf("HEAD and the recorded base: %q, want the host's HEAD %s", got, w.head)
			}
			g.must("node", "git diff --cached --quiet") // nothing staged: the changes are uncommitted
			checks := map[string]string{
				"test ! -e .env && echo absent":                   "absent",
				"grep -rlF " + worktreeSecret + " . || echo none": "none",
				"cat a.txt":                   "staged",
				"cat README":                  "unstaged",
				"readlink lnk":                "README",
				"test -x run.sh && echo exec": "exec",
				"stat -c %U:%a new new/u.txt renamed.txt":            "node:755\nnode:644\nnode:644",
				"test ! -e .git/claude-bottle-changed && echo clean": "clean",
			}
			for script, want := range checks {
				if got := g.must("node", script); got != want {
					t.Errorf("in the guest: %s: %q, want %q", script, got, want)
				}
			}
			if after := hostState(t, w.repo); after != before {
				t.Errorf("the host repository changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			g = launch("e2e-wh-"+uniq(), "--head-only")
			if st := g.must("node", "git status --porcelain --untracked-files=all"); st != "" {
				t.Errorf("--head-only: git status in the guest:\n%s", st)
			}
			if got := g.must("node", "cat a.txt; test ! -e new && echo no-untracked"); got != "a\nno-untracked" {
				t.Errorf("--head-only: %q", got)
			}
		})
	}
}

// changeHost commits a few more files, stashes a change, then leaves every
// kind of uncommitted change in the host repository.
func changeHost(t *testing.T, w *world) {
	git := func(args ...string) string {
		return run(t, "git", append([]string{"-C", w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	}
	file := func(name, content string, mode os.FileMode) {
		p := filepath.Join(w.repo, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), mode))
		must(t, os.Chmod(p, mode))
	}
	for _, f := range []string{"a", "gone", "old"} {
		file(f+".txt", f+"\n", 0o644)
	}
	file("run.sh", "#!/bin/sh\n", 0o644)
	file(".gitignore", ".env\n", 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "more")
	w.head = git("rev-parse", "HEAD")
	file("README", "stashed\n", 0o644)
	git("stash", "-q")

	file("a.txt", "staged\n", 0o644)
	git("add", "a.txt")
	file("README", "unstaged\n", 0o644)
	file("new/u.txt", "untracked\n", 0o644)
	file(".env", "API_KEY="+worktreeSecret+"\n", 0o600)
	must(t, os.Remove(filepath.Join(w.repo, "gone.txt")))
	git("mv", "old.txt", "renamed.txt")
	must(t, os.Chmod(filepath.Join(w.repo, "run.sh"), 0o755))
	must(t, os.Symlink("README", filepath.Join(w.repo, "lnk")))
}

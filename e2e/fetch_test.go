//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFetch on both backends: the agent commits on a new branch and leaves
// an edit; its guest repository also carries a hook, core.fsmonitor,
// core.sshCommand and a .gitattributes filter, each of which would create
// a probe file if it ran on the host. `fetch` brings both refs home,
// nothing else of the host repository changes (refs, index, stash, config,
// work tree), and reviewing the work with plain git creates no probe.
func TestFetch(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) {
			tag := uniq()
			w := &world{dir: t.TempDir()}
			w.hostRepo(t)
			dirtyHost(t, w)
			smol := backend == "smolmachines"
			e := newEnv(t, smol)
			name := "e2e-f-" + tag
			e.stopAtEnd(name)
			args := []string{"--backend", backend, "launch", "--detach", "--name", name, "--cwd", w.repo}
			if smol {
				args = append(args, "--smolvm-net", "tsi")
			}
			e.mustCB(args...)
			container := "claude-bottle-" + name + "-agent"
			if smol {
				container = "smolvm-" + container
			}
			g := guest{t: t, container: container}
			probe := "/tmp/claude-bottle-e2e-probe-" + tag
			t.Cleanup(func() { os.Remove(probe) })
			feature, head := agentWork(t, g, probe)
			before := hostState(t, w.repo)

			out := e.mustCB("--backend", backend, "fetch", name, "--repo", w.repo)
			prefix := "bottle/" + name + "/"
			for _, want := range []string{"new      " + prefix + "feature", "new      " + prefix + "uncommitted", "new      " + prefix + "main"} {
				if !strings.Contains(out, want) {
					t.Errorf("fetch printed:\n%s\nwant a line %q", out, want)
				}
			}
			hostGit := func(args ...string) string { return run(t, "git", append([]string{"-C", w.repo}, args...)...) }
			if got := hostGit("rev-parse", prefix+"feature"); got != feature {
				t.Errorf("%sfeature = %s, want the guest's %s", prefix, got, feature)
			}
			if got := hostGit("rev-parse", prefix+"uncommitted^"); got != head {
				t.Errorf("the snapshot's parent %s, want the guest's HEAD %s", got, head)
			}
			if got := hostGit("show", prefix+"uncommitted:README"); !strings.Contains(got, "edited by the agent") {
				t.Errorf("the snapshot's README:\n%s", got)
			}
			if after := hostState(t, w.repo); after != before {
				t.Errorf("the host repository changed besides refs/remotes/bottle/:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if out := e.mustCB("--backend", backend, "fetch", name, "--repo", w.repo); out != "nothing new" {
				t.Errorf("a second fetch printed %q", out)
			}

			// The user reviews the work with plain git, checking it out.
			hostGit("stash", "-q")
			hostGit("switch", "-q", "-c", "review", prefix+"feature")
			hostGit("log", "-p", prefix+"uncommitted")
			hostGit("diff", prefix+"feature", prefix+"uncommitted")
			hostGit("status")
			if _, err := os.Stat(probe); err == nil {
				t.Fatal("a hook, filter or setting of the guest's ran on the host")
			}
			// Control: the same command in the guest does create the probe.
			g.must("node", "git switch -q main && git switch -q feature && test -e "+probe)
		})
	}
}

// dirtyHost gives the host repository state a fetch must keep: a stash,
// a staged and an unstaged change, an untracked file, a setting.
func dirtyHost(t *testing.T, w *world) {
	git := func(args ...string) string {
		return run(t, "git", append([]string{"-C", w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	}
	must(t, os.WriteFile(filepath.Join(w.repo, "README"), []byte("stashed\n"), 0o644))
	git("stash", "-q")
	must(t, os.WriteFile(filepath.Join(w.repo, "staged"), []byte("staged\n"), 0o644))
	git("add", "staged")
	must(t, os.WriteFile(filepath.Join(w.repo, "README"), []byte("unstaged\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w.repo, "untracked"), []byte("untracked\n"), 0o644))
	git("config", "user.name", "host user")
}

// agentWork does what an agent would in the guest, as node: a hostile
// repository setup, a commit on a new branch, an uncommitted edit. It
// returns the branch's commit and HEAD.
func agentWork(t *testing.T, g guest, probe string) (string, string) {
	touch := "touch " + probe
	g.must("node", `set -e
git config user.name agent && git config user.email agent@example.com
git config core.fsmonitor '`+touch+`'
git config core.sshCommand '`+touch+`'
git config filter.probe.smudge '`+touch+`; cat'
git config filter.probe.clean '`+touch+`; cat'
git config core.hooksPath .git/hooks
mkdir -p .git/hooks
for h in post-checkout reference-transaction post-index-change post-merge; do
  printf '#!/bin/sh\n`+touch+`\n' > .git/hooks/$h && chmod +x .git/hooks/$h
done
git switch -q -c feature
echo '* filter=probe' > .gitattributes
echo 'the agent was here' > work.txt
git add .gitattributes work.txt
git commit -q -m 'agent work'
echo 'edited by the agent' >> README
rm -f `+probe)
	return g.must("node", "git rev-parse feature"), g.must("node", "git rev-parse HEAD")
}

// hostState is what a fetch must leave alone: every ref but
// refs/remotes/bottle/, HEAD, the index, config, the stash and the work
// tree's files (their content).
func hostState(t *testing.T, repo string) string {
	var b strings.Builder
	for _, l := range strings.Split(run(t, "git", "-C", repo, "for-each-ref", "--format=%(objectname) %(refname)"), "\n") {
		if !strings.Contains(l, " refs/remotes/bottle/") {
			b.WriteString(l + "\n")
		}
	}
	for _, f := range []string{"HEAD", "index", "config", "packed-refs", "FETCH_HEAD", "logs/refs/stash"} {
		data, _ := os.ReadFile(filepath.Join(repo, ".git", f))
		fmt.Fprintf(&b, "%s %x\n", f, sha256.Sum256(data))
	}
	b.WriteString("stash: " + run(t, "git", "-C", repo, "stash", "list") + "\n")
	b.WriteString("remotes: " + run(t, "git", "-C", repo, "remote", "-v") + "\n")
	filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d != nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s %x\n", strings.TrimPrefix(p, repo), sha256.Sum256(data))
		}
		return nil
	})
	return b.String()
}

var sentRE = regexp.MustCompile(`the guest sent ([0-9]+) bytes`)

// BenchmarkFetch: on a host repository of 5,000 commits, fetch of one new
// agent commit, against a bare `docker exec … true` in the same run. It
// reports the bytes the guest sent and the ratio of the two times.
func BenchmarkFetch(b *testing.B) {
	dir := b.TempDir()
	repo := filepath.Join(dir, "app")
	bigRepo(b, repo, 5000)
	e := newEnv(b, false)
	name := "e2e-bf-" + uniq()
	e.stopAtEnd(name)
	if _, errs, err := e.cb("launch", "--detach", "--name", name, "--cwd", repo); err != nil {
		b.Fatalf("launch: %v\n%s", err, errs)
	}
	agent := "claude-bottle-" + name + "-agent"
	var fetchTime, execTime time.Duration
	var sent int64
	n := 0
	for b.Loop() {
		b.StopTimer()
		if _, err := try("docker", "exec", "-u", "node", "-w", "/home/node/workspace", agent, "sh", "-c",
			"echo "+strconv.Itoa(n)+" >> agent.txt && git add agent.txt && git -c user.name=a -c user.email=a@example.com commit -q -m agent"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := try("docker", "exec", agent, "true"); err != nil {
			b.Fatal(err)
		}
		execTime += time.Since(start)
		b.StartTimer()
		start = time.Now()
		_, errs, err := e.cb("--log-level", "debug", "fetch", name, "--repo", repo)
		fetchTime += time.Since(start)
		if err != nil {
			b.Fatalf("fetch: %v\n%s", err, errs)
		}
		m := sentRE.FindStringSubmatch(errs)
		if m == nil {
			b.Fatalf("no byte count in the log:\n%s", errs)
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		sent += v
		n++
	}
	b.ReportMetric(float64(sent)/float64(n), "B/fetch")
	b.ReportMetric(float64(fetchTime)/float64(execTime), "fetch/exec")
	b.ReportMetric(float64(execTime.Microseconds())/float64(n)/1000, "exec-ms")
	if avg := sent / int64(n); avg >= 100<<10 {
		b.Errorf("one new commit moved %d bytes (want < 100 KB)", avg)
	}
}

// bigRepo makes a repository of n commits with git fast-import.
func bigRepo(b *testing.B, repo string, n int) {
	if out, err := exec.Command("git", "init", "-q", "-b", "main", repo).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v %s", err, out)
	}
	var s strings.Builder
	for i := 0; i < n; i++ {
		content := fmt.Sprintf("line %d\n", i)
		fmt.Fprintf(&s, "commit refs/heads/main\ncommitter e2e <e2e@example.com> %d +0000\ndata 9\ncommit %d\n", 1700000000+i, i%10)
		fmt.Fprintf(&s, "M 100644 inline file%d.txt\ndata %d\n%s\n", i%100, len(content), content)
	}
	cmd := exec.Command("git", "-C", repo, "fast-import", "--quiet")
	cmd.Stdin = strings.NewReader(s.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v %s", err, out)
	}
	if out, err := exec.Command("git", "-C", repo, "reset", "-q", "--hard").CombinedOutput(); err != nil {
		b.Fatalf("checkout: %v %s", err, out)
	}
}

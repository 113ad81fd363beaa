//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gitSecret marks every value poisoned in the host's .git.
const gitSecret = "S3CRET-e2e"

// TestGitDirNoHostSecrets: a docker bottle launched on a host repository
// whose .git carries secrets everywhere (actions/checkout's extraheader, a
// token in the remote URL, credential helpers, includes, url rewrites, a
// hook, info/, a linked worktree's admin files, logs) gets none of them: no
// file under the workspace's .git holds one, git sees only the keys
// claude-bottle writes, HEAD is the host's, and the kept remote works
// through the gate.
func TestGitDirNoHostSecrets(t *testing.T) {
	tag := uniq()
	w := &world{dir: t.TempDir()}
	w.hostRepo(t)
	w.sshUpstream(t, "e2e-up-"+tag)
	poisonGitDir(t, w)
	e := newEnv(t, false)
	name := "e2e-git-" + tag
	e.stopAtEnd(name)
	e.mustCB("launch", "--detach", "--name", name, "--cwd", w.repo,
		"--upstream", "origin="+w.upURL, "--git-credential", "origin="+w.key, "--known-hosts", w.knownHosts)
	g := guest{t: t, container: "claude-bottle-" + name + "-agent"}

	if found := g.must("root", "grep -rlaF '"+gitSecret+"' /home/node/workspace || true"); found != "" {
		t.Errorf("secrets of the host's .git reached the guest in:\n%s", found)
	}
	// logs/ holds only what the guest's git wrote itself (the checkout's reflog).
	gd := "/home/node/workspace/.git"
	if found := g.must("root", "cd "+gd+" && find . -type l -o -path ./hooks -o -path ./info -o -path ./worktrees -o -path ./modules "+
		"-o -name FETCH_HEAD -o -name description -o -path './logs/*' -type f ! -path ./logs/HEAD"); found != "" {
		t.Errorf("in the guest's .git:\n%s", found)
	}

	var repoKeys, other []string
	for _, l := range strings.Split(g.must("node", "git -C /home/node/workspace config --list --show-origin"), "\n") {
		origin, kv, _ := strings.Cut(l, "\t")
		key, _, _ := strings.Cut(kv, "=")
		switch {
		case origin == "file:.git/config":
			repoKeys = append(repoKeys, kv)
		case origin == "file:/home/node/.gitconfig" && strings.HasPrefix(key, "url.git://git-gate/") && strings.HasSuffix(key, ".insteadof"):
		default:
			other = append(other, l)
		}
	}
	want := []string{"core.repositoryformatversion=0", "core.filemode=true", "core.bare=false", "core.logallrefupdates=true",
		"remote.origin.url=" + w.upURL, "remote.origin.fetch=+refs/heads/*:refs/remotes/origin/*",
		"branch.main.remote=origin", "branch.main.merge=refs/heads/main"}
	if strings.Join(repoKeys, "\n") != strings.Join(want, "\n") {
		t.Errorf("the workspace's config:\n%s\nwant\n%s", strings.Join(repoKeys, "\n"), strings.Join(want, "\n"))
	}
	if len(other) > 0 {
		t.Errorf("git in the guest reads other settings:\n%s", strings.Join(other, "\n"))
	}

	if head := g.must("node", "git rev-parse HEAD"); head != w.head {
		t.Errorf("workspace HEAD %s, host %s", head, w.head)
	}
	if st := g.must("node", "git status --porcelain"); st != "" {
		t.Errorf("workspace not clean:\n%s", st)
	}
	tags := g.must("node", "git tag")
	if tags != "v1" {
		t.Errorf("tags %q, want v1 (packed-refs)", tags)
	}
	// The kept remote reaches the upstream through the gate.
	if ls := g.must("node", "git fetch -q origin && git rev-parse origin/main"); ls != w.head {
		t.Errorf("origin/main after a fetch through the gate: %s, want %s", ls, w.head)
	}
}

// poisonGitDir puts a secret everywhere the host's .git can hold one, and
// packs the refs so that packed-refs travels.
func poisonGitDir(t *testing.T, w *world) {
	git := func(args ...string) string {
		return run(t, "git", append([]string{"-C", w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	}
	git("tag", "v1")
	git("pack-refs", "--all")
	git("worktree", "add", "-q", filepath.Join(w.dir, "wt"), "-b", "wt")
	origin := strings.Replace(w.upURL, "ssh://git@", "ssh://git:"+gitSecret+"-url@", 1)
	settings := [][2]string{
		{"remote.origin.url", origin},
		{"http.https://github.com/.extraheader", "AUTHORIZATION: basic " + gitSecret + "-extraheader"},
		{"credential.helper", "store --file=/tmp/" + gitSecret + "-cred"},
		{"include.path", "/tmp/" + gitSecret + "-include"},
		{"includeIf.gitdir:/.path", "/tmp/" + gitSecret + "-includeif"},
		{"url.https://" + gitSecret + "@github.com/.insteadOf", "https://github.com/"},
		{"core.sshCommand", "ssh -i /tmp/" + gitSecret + "-key"},
		{"user.email", gitSecret + "@example.com"},
		{"branch.main.remote", "origin"},
		{"branch.main.merge", "refs/heads/main"},
	}
	for _, kv := range settings {
		git("config", kv[0], kv[1])
	}
	gd := filepath.Join(w.repo, ".git")
	for f, content := range map[string]string{
		"hooks/post-checkout":          "#!/bin/sh\necho " + gitSecret + "-hook > /tmp/hook-ran\n",
		"info/exclude":                 gitSecret + "-exclude\n",
		"worktrees/wt/config.worktree": "[http]\n\textraheader = " + gitSecret + "-wt\n",
		"FETCH_HEAD":                   gitSecret + "-fetch-head\n",
		"description":                  gitSecret + "-description\n",
		"logs/" + gitSecret:            gitSecret + "\n",
	} {
		p := filepath.Join(gd, f)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o755))
	}
	target := filepath.Join(w.dir, "link-target")
	must(t, os.WriteFile(target, []byte(gitSecret+"-behind-a-link\n"), 0o644))
	must(t, os.Symlink(target, filepath.Join(gd, "refs", "heads", "link")))
	// The host's own git still reads what it was given.
	if got := git("config", "--get", "http.https://github.com/.extraheader"); !strings.Contains(got, gitSecret) {
		t.Fatalf("the poison did not take: %q", got)
	}
}

package sidecar

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// TestPolicyRefusal: each rule of the default policy and of its loosened
// forms, on a mirror whose default branch (from the upstream) is trunk.
func TestPolicyRefusal(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Parallel()
	env := gitEnv(t)
	root := t.TempDir()
	g := gate{paths: paths{GitRoot: root}, env: env, log: testLogger()}
	repo := g.repoPath("app")
	mustGit(t, env, "", "init", "--quiet", "--bare", repo)
	mustGit(t, env, "", "--git-dir="+repo, "symbolic-ref", "HEAD", "refs/heads/trunk")
	mustGit(t, env, "", "--git-dir="+repo, "config", headSetKey, "true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a, b, zero := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("0", 40)
	strict := bundle.Upstream{Name: "app"}
	force := bundle.Upstream{Name: "app", AllowForce: true}
	del := bundle.Upstream{Name: "app", AllowDelete: true}
	for _, tc := range []struct {
		u    bundle.Upstream
		up   refUpdate
		want string // a word of the refusal, "" for allowed, "ERROR" for a failed check
	}{
		{strict, refUpdate{a, zero, "refs/heads/trunk"}, "deleting"},
		{strict, refUpdate{a, zero, "refs/heads/topic"}, "deleting"},
		{strict, refUpdate{a, zero, "refs/tags/v1.0"}, "deleting"},
		{force, refUpdate{a, zero, "refs/tags/v1.0"}, "deleting"},
		{del, refUpdate{a, zero, "refs/tags/v1.0"}, ""},
		{strict, refUpdate{zero, b, "refs/heads/trunk"}, ""}, // a new ref: the lease checks the upstream has none
		{strict, refUpdate{zero, b, "refs/tags/v2"}, ""},
		{strict, refUpdate{a, b, "refs/heads/topic"}, ""}, // other branches: anything goes, no check
		{strict, refUpdate{a, b, "refs/notes/commits"}, ""},
		{strict, refUpdate{a, b, "refs/tags/v1.0"}, "moving an existing tag"},
		{force, refUpdate{a, b, "refs/tags/v1.0"}, ""},
		{del, refUpdate{a, b, "refs/tags/v1.0"}, "moving an existing tag"},
		{strict, refUpdate{a, b, "refs/heads/trunk"}, "ERROR"}, // unknown objects: no answer, refused
		{force, refUpdate{a, b, "refs/heads/trunk"}, ""},
	} {
		refused, err := g.policyRefusals(ctx, tc.u, []refUpdate{tc.up})
		got := strings.Join(refused, "; ")
		switch {
		case tc.want == "ERROR":
			if err == nil {
				t.Errorf("%+v %s: %q, want an error (fail closed)", tc.u, tc.up.ref, got)
			}
		case err != nil:
			t.Errorf("%+v %s: %v", tc.u, tc.up.ref, err)
		case tc.want == "" && got != "":
			t.Errorf("%+v %s %s..%s refused: %s", tc.u, tc.up.ref, tc.up.old[:1], tc.up.new[:1], got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%+v %s %s..%s: %q, want %q", tc.u, tc.up.ref, tc.up.old[:1], tc.up.new[:1], got, tc.want)
		}
	}
}

// TestDefaultBranchesBeforeAnyFetch: a mirror whose HEAD was never set asks
// the upstream; an upstream without a HEAD to name leaves both usual names
// protected.
func TestDefaultBranchesBeforeAnyFetch(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Parallel()
	env := gitEnv(t)
	dir := t.TempDir()
	up := filepath.Join(dir, "up.git")
	mustGit(t, env, "", "init", "--quiet", "--bare", "--initial-branch=trunk", up)
	g := gate{paths: paths{GitRoot: filepath.Join(dir, "git"), RunDir: dir}, env: env, log: testLogger(),
		spec: bundle.Spec{Upstreams: []bundle.Upstream{{Name: "app", URL: up}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.setup(ctx); err != nil {
		t.Fatal(err)
	}
	u := g.spec.Upstreams[0]
	if got, err := g.defaultBranches(ctx, u); err != nil || strings.Join(got, " ") != "refs/heads/main refs/heads/master" {
		t.Errorf("empty upstream: %q, %v; want the fallbacks", got, err)
	}
	work := filepath.Join(dir, "work")
	mustGit(t, env, "", "init", "--quiet", "--initial-branch=trunk", work)
	commit(t, env, work, "first")
	mustGit(t, env, work, "push", "--quiet", up, "trunk")
	if got, err := g.defaultBranches(ctx, u); err != nil || strings.Join(got, " ") != "refs/heads/trunk" {
		t.Errorf("upstream on trunk: %q, %v; want refs/heads/trunk", got, err)
	}
}

// wipe makes an orphan branch "wipe" in clone: a history unrelated to the
// upstream's, what a rewrite of the default branch pushes.
func (g *testGate) wipe(t *testing.T, clone string) string {
	t.Helper()
	mustGit(t, g.env, clone, "checkout", "--quiet", "--orphan", "wipe")
	return commit(t, g.env, clone, "wiped")
}

// tagUpstream tags the upstream's trunk v1.0.
func (g *testGate) tagUpstream(t *testing.T) {
	t.Helper()
	mustGit(t, g.env, g.work, "tag", "v1.0")
	mustGit(t, g.env, g.work, "push", "--quiet", g.upstream, "v1.0")
}

// TestGateRefusesRewriteAndTagDeletion is finding 3's attack, `git push
// --force origin wipe:main :refs/tags/v1.0`: refused whole, the upstream
// untouched, each refusal shown to the pusher and a [git-gate] line of the
// bundle's log (written by pre-receive, the front's grandchild, through
// the descriptor it inherits).
func TestGateRefusesRewriteAndTagDeletion(t *testing.T) {
	g := newTestGate(t)
	g.tagUpstream(t)
	clone := g.clone(t)
	g.wipe(t, clone)
	out, err := runGit(g.env, clone, "push", "--force", "origin", "wipe:trunk", ":refs/tags/v1.0")
	if err == nil {
		t.Fatalf("the rewrite and the deletion were forwarded:\n%s", out)
	}
	for _, want := range []string{
		"remote: git-gate: refs/heads/trunk: rewriting the default branch (not a fast-forward) is refused (--upstream-policy app=force allows it)",
		"remote: git-gate: refs/tags/v1.0: deleting a ref is refused (--upstream-policy app=delete allows it)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the pusher does not see %q:\n%s", want, out)
		}
	}
	if got := g.rev(t, g.upstream, "trunk"); got != g.first {
		t.Errorf("upstream trunk = %s, want %s kept", got, g.first)
	}
	if got := g.rev(t, g.upstream, "refs/tags/v1.0"); got != g.first {
		t.Errorf("upstream v1.0 = %s, want it kept", got)
	}
	want := `[git-gate] time=`
	line := grepLines(logEventually(g.out, "refused by its ref policy"), "refused by its ref policy")
	if !strings.HasPrefix(line, want) || !strings.Contains(line, "refs/heads/trunk: rewriting the default branch") ||
		!strings.Contains(line, "refs/tags/v1.0: deleting a ref") {
		t.Errorf("the bundle's log lacks the refused push:\n%s", g.out)
	}

	// Moving the tag, even by a fast-forward, is refused too.
	mustGit(t, g.env, clone, "checkout", "--quiet", "trunk")
	commit(t, g.env, clone, "second")
	if out, err := runGit(g.env, clone, "push", "--force", "origin", "HEAD:refs/tags/v1.0"); err == nil ||
		!strings.Contains(out, "refs/tags/v1.0: moving an existing tag is refused") {
		t.Errorf("moving v1.0: %v\n%s", err, out)
	}
	if got := g.rev(t, g.upstream, "refs/tags/v1.0"); got != g.first {
		t.Errorf("upstream v1.0 moved to %s", got)
	}
}

// TestGateLetsTopicBranchesBeRewritten: the default policy lets other
// branches be pushed, forced ones too, and tags be created.
func TestGateLetsTopicBranchesBeRewritten(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	commit(t, g.env, clone, "topic work")
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "HEAD:refs/heads/topic")
	mustGit(t, g.env, clone, "commit", "--quiet", "--amend", "-m", "topic work, rewritten")
	rewritten := mustGit(t, g.env, clone, "rev-parse", "HEAD")
	mustGit(t, g.env, clone, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/topic", "HEAD:refs/tags/v2")
	if got := g.rev(t, g.upstream, "topic"); got != rewritten {
		t.Errorf("upstream topic = %s, want the force-pushed %s", got, rewritten)
	}
	if got := g.rev(t, g.upstream, "refs/tags/v2"); got != rewritten {
		t.Errorf("upstream v2 = %s, want %s", got, rewritten)
	}
	if line := grepLines(logEventually(g.out, "forwarded ["+rewritten), "forwarded ["+rewritten+":refs/heads/topic "); !strings.HasPrefix(line, "[git-gate] ") {
		t.Errorf("the bundle's log lacks the forwarded forced push:\n%s", g.out)
	}
}

// TestGateLoosenedPolicy: with --upstream-policy app=force,delete the same
// push as the attack's passes.
func TestGateLoosenedPolicy(t *testing.T) {
	g := newTestGateWith(t, gateOpts{allowForce: true, allowDelete: true})
	g.tagUpstream(t)
	clone := g.clone(t)
	wiped := g.wipe(t, clone)
	mustGit(t, g.env, clone, "push", "--quiet", "--force", "origin", "wipe:trunk", ":refs/tags/v1.0")
	if got := g.rev(t, g.upstream, "trunk"); got != wiped {
		t.Errorf("upstream trunk = %s, want the rewrite %s", got, wiped)
	}
	if out, err := runGit(g.env, "", "--git-dir="+g.upstream, "rev-parse", "--verify", "--quiet", "refs/tags/v1.0"); err == nil {
		t.Errorf("upstream still has v1.0 (%s)", out)
	}
}

// TestGateRewriteBeforeAnyFetch: an agent whose repository came from the
// host (--cwd), pushing a rewrite before the gate ever fetched, does not
// rewrite the upstream either: the gate's mirror is empty, so the push is
// a creation, forwarded over "no such ref", which the upstream refuses.
func TestGateRewriteBeforeAnyFetch(t *testing.T) {
	g := newTestGate(t)
	agent := filepath.Join(t.TempDir(), "agent")
	mustGit(t, g.env, "", "clone", "--quiet", g.upstream, agent) // as --cwd copies it
	mustGit(t, g.env, agent, "remote", "set-url", "origin", g.url)
	g.wipe(t, agent)
	if out, err := runGit(g.env, agent, "push", "--force", "origin", "wipe:trunk"); err == nil {
		t.Fatalf("the rewrite was forwarded:\n%s", out)
	}
	if got := g.rev(t, g.upstream, "trunk"); got != g.first {
		t.Errorf("upstream trunk = %s, want %s kept", got, g.first)
	}
	if line := grepLines(logEventually(g.out, "upstream refused"), "upstream refused"); !strings.HasPrefix(line, "[git-gate] ") {
		t.Errorf("the bundle's log lacks the refused push:\n%s", g.out)
	}
}

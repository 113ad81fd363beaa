package sidecar

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// gitEnv is a hermetic environment for git: no system or user config
// beyond an identity, no prompts.
func gitEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	global := filepath.Join(home, "gitconfig")
	mustWrite(t, global, []byte("[user]\n\tname = Test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n"))
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + global, "GIT_TERMINAL_PROMPT=0",
	}
}

func runGit(env []string, dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	out, err := runGit(env, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// commit commits a change in the work tree dir and returns its id.
func commit(t *testing.T, env []string, dir, msg string) string {
	t.Helper()
	mustWrite(t, filepath.Join(dir, "file"), []byte(msg+"\n"))
	mustGit(t, env, dir, "add", "-A")
	mustGit(t, env, dir, "commit", "--quiet", "-m", msg)
	return mustGit(t, env, dir, "rev-parse", "HEAD")
}

// testGate is a running bundle with git-gate serving one upstream "app", a
// local bare repository whose default branch is trunk.
type testGate struct {
	*testInit
	env      []string // for the test's own git commands
	upstream string   // the upstream bare repository
	work     string   // a clone of the upstream, to move it
	first    string   // the upstream's first commit
	url      string   // git://…/SECRET/app.git through the gate
}

func newTestGate(t *testing.T) *testGate { return newTestGateWith(t, gateOpts{}) }

// gateOpts vary a test gate.
type gateOpts struct {
	empty       bool   // the upstream starts without commits
	allowForce  bool   // app's ref policy, as --upstream-policy app=force sets it
	allowDelete bool   // … and app=delete
	pathPrefix  string // a directory put first on the daemons' PATH
}

// newTestGateWith is newTestGate as opts say.
func newTestGateWith(t *testing.T, opts gateOpts) *testGate {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Parallel()
	dir := t.TempDir()
	g := &testGate{env: gitEnv(t), upstream: filepath.Join(dir, "upstream.git"), work: filepath.Join(dir, "work")}
	mustGit(t, g.env, "", "init", "--quiet", "--bare", "--initial-branch=trunk", g.upstream)
	mustGit(t, g.env, "", "init", "--quiet", "--initial-branch=trunk", g.work)
	if !opts.empty {
		g.first = commit(t, g.env, g.work, "first")
		mustGit(t, g.env, g.work, "push", "--quiet", g.upstream, "trunk")
	}

	spec := bundle.Spec{
		Bottle:  "t",
		Daemons: []string{bundle.Pipelock, bundle.GitGate},
		Upstreams: []bundle.Upstream{{Name: "app", URL: g.upstream,
			AllowForce: opts.allowForce, AllowDelete: opts.allowDelete}},
	}
	g.testInit = newTestInit(t, spec, map[string]string{bundle.Pipelock: "listen=127.0.0.1:{port}"})
	if opts.pathPrefix != "" {
		for i, kv := range g.initConfig.env {
			if path, ok := strings.CutPrefix(kv, "PATH="); ok {
				g.initConfig.env[i] = "PATH=" + opts.pathPrefix + string(os.PathListSeparator) + path
			}
		}
	}
	g.waitReady(t, g.start(t).done)
	g.url = "git://127.0.0.1:" + strconv.Itoa(g.ports[bundle.GitGate]) + "/" + testSecret + "/app.git"
	return g
}

// clone clones the gate's app into a new dir.
func (g *testGate) clone(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	mustGit(t, g.env, "", "clone", "--quiet", g.url, dir)
	return dir
}

// moveUpstream commits and pushes to the upstream directly.
func (g *testGate) moveUpstream(t *testing.T, msg string) string {
	t.Helper()
	id := commit(t, g.env, g.work, msg)
	mustGit(t, g.env, g.work, "push", "--quiet", g.upstream, "trunk")
	return id
}

func (g *testGate) rev(t *testing.T, repo, ref string) string {
	t.Helper()
	return mustGit(t, g.env, "", "--git-dir="+repo, "rev-parse", ref)
}

func TestGateFetchSeesUpstreamsNewCommits(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	if got := mustGit(t, g.env, clone, "rev-parse", "HEAD"); got != g.first {
		t.Errorf("clone HEAD = %s, want %s", got, g.first)
	}
	if got := mustGit(t, g.env, clone, "symbolic-ref", "--short", "HEAD"); got != "trunk" {
		t.Errorf("clone checked out %q, want the upstream's default branch trunk", got)
	}
	second := g.moveUpstream(t, "second")
	mustGit(t, g.env, clone, "fetch", "--quiet", "origin")
	if got := mustGit(t, g.env, clone, "rev-parse", "origin/trunk"); got != second {
		t.Errorf("after fetch origin/trunk = %s, want the upstream's new %s", got, second)
	}
}

func TestGateFetchFailsWhenUpstreamIsDown(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	if err := os.Rename(g.upstream, g.upstream+".gone"); err != nil {
		t.Fatal(err)
	}
	out, err := runGit(g.env, clone, "fetch", "origin")
	if err == nil {
		t.Fatalf("fetch succeeded with the upstream gone:\n%s", out)
	}
	if !strings.Contains(out, "git-gate: cannot refresh app from its upstream: fatal: '"+g.upstream+"' does not appear to be a git repository") {
		t.Errorf("fetch output lacks the gate's reason:\n%s", out)
	}
	// The daemon's line reaches the log through the init's pipe, possibly
	// after the client already has its ERR.
	if log := logEventually(g.out, "refresh failed"); !strings.Contains(log, "[git-gate] ") || !strings.Contains(log, "refresh failed") {
		t.Errorf("the bundle's log lacks the failure:\n%s", log)
	}
}

// logEventually returns the log once it holds want, or after 5 s.
func logEventually(out *syncBuffer, want string) string {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return out.String()
}

func TestGatePushIsForwarded(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	second := commit(t, g.env, clone, "second")
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "trunk")
	if got := g.rev(t, g.upstream, "trunk"); got != second {
		t.Errorf("upstream trunk = %s, want the pushed %s", got, second)
	}
	if got := g.rev(t, g.repoPath("app"), "trunk"); got != second {
		t.Errorf("gate trunk = %s, want the pushed %s", got, second)
	}

	mustGit(t, g.env, clone, "push", "--quiet", "origin", "HEAD:refs/heads/feature")
	if got := g.rev(t, g.upstream, "feature"); got != second {
		t.Errorf("upstream feature = %s, want %s", got, second)
	}
	// Wait for the feature push's own line: the trunk push logged the same
	// commit first, so waiting on the commit alone raced the second line.
	want := "receive-pack app: forwarded [" + second + ":refs/heads/feature]"
	if log := logEventually(g.out, want); !strings.Contains(log, "[git-gate] ") || !strings.Contains(log, want) {
		t.Errorf("the bundle's log lacks the forwarded push:\n%s", log)
	}
}

func TestGatePushRejectedByUpstream(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	mustWrite(t, filepath.Join(g.upstream, "hooks", "pre-receive"), []byte("#!/bin/sh\necho upstream says no >&2\nexit 1\n"))
	if err := os.Chmod(filepath.Join(g.upstream, "hooks", "pre-receive"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit(t, g.env, clone, "second")
	out, err := runGit(g.env, clone, "push", "origin", "trunk")
	if err == nil {
		t.Fatalf("push succeeded though the upstream rejects it:\n%s", out)
	}
	for _, want := range []string{"remote: upstream says no", "remote: git-gate: the upstream of app did not accept the push", "pre-receive hook declined"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	if got := g.rev(t, g.repoPath("app"), "trunk"); got != g.first {
		t.Errorf("gate trunk moved to %s, want it still at %s", got, g.first)
	}
	if got := g.rev(t, g.upstream, "trunk"); got != g.first {
		t.Errorf("upstream trunk moved to %s", got)
	}
}

func TestGateEmptyUpstream(t *testing.T) {
	g := newTestGateWith(t, gateOpts{empty: true})
	clone := g.clone(t) // an empty repository
	first := commit(t, g.env, clone, "first")
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "HEAD:refs/heads/trunk")
	if got := g.rev(t, g.upstream, "trunk"); got != first {
		t.Errorf("upstream trunk = %s, want %s", got, first)
	}
	again := g.clone(t)
	if got := mustGit(t, g.env, again, "rev-parse", "HEAD"); got != first {
		t.Errorf("second clone HEAD = %s, want %s", got, first)
	}
}

func TestGateRefusesUnknownRepositories(t *testing.T) {
	g := newTestGate(t)
	base := strings.TrimSuffix(g.url, "app.git")
	if out, err := runGit(g.env, "", "ls-remote", base+"nope.git"); err == nil {
		t.Errorf("ls-remote of a missing repository succeeded:\n%s", out)
	}
	// A repository under the git root that no upstream declares.
	mustGit(t, g.env, "", "init", "--quiet", "--bare", filepath.Join(g.GitRoot, "stray.git"))
	out, err := runGit(g.env, "", "ls-remote", base+"stray.git")
	if err == nil || !strings.Contains(out, "git-gate: unknown repository") {
		t.Errorf("ls-remote of an undeclared repository: err %v, output:\n%s", err, out)
	}
}

func TestGateConcurrentFetchesWhileUpstreamMoves(t *testing.T) {
	g := newTestGate(t)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				if out, err := runGit(g.env, "", "ls-remote", g.url); err != nil {
					errs <- fmt.Errorf("ls-remote %d: %v: %s", i, err, out)
				}
			}
		}()
	}
	for i := range 3 {
		g.moveUpstream(t, "move "+strconv.Itoa(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSymrefHead(t *testing.T) {
	for in, want := range map[string]string{
		"ref: refs/heads/trunk\tHEAD\n0123\tHEAD\n": "refs/heads/trunk",
		"0123\tHEAD\n":                "",
		"":                            "",
		"ref: refs/tags/x\tHEAD\n":    "",
		"ref: refs/heads/a\trefs/x\n": "",
	} {
		if got := symrefHead(in); got != want {
			t.Errorf("symrefHead(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseUpdates(t *testing.T) {
	a, b, zero := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("0", 40)
	ups, err := parseUpdates(strings.NewReader(a + " " + b + " refs/heads/main\n" + a + " " + zero + " refs/heads/old\n"))
	if err != nil {
		t.Fatal(err)
	}
	var specs []string
	for _, u := range ups {
		specs = append(specs, u.refspec())
	}
	if got, want := strings.Join(specs, " "), b+":refs/heads/main :refs/heads/old"; got != want {
		t.Errorf("refspecs = %q, want %q", got, want)
	}
	for _, bad := range []string{"x y refs/heads/a\n", a + " " + b + " main\n", a + " " + b + "\n"} {
		if _, err := parseUpdates(strings.NewReader(bad)); err == nil {
			t.Errorf("parseUpdates(%q) accepted it", bad)
		}
	}
}

// TestGateForcePushOverWhatWasFetched: a forced push the policy allows is
// forwarded as forced, but only while the upstream's ref is where the gate
// saw it.
func TestGateForcePushOverWhatWasFetched(t *testing.T) {
	g := newTestGateWith(t, gateOpts{allowForce: true})
	clone := g.clone(t)
	mustGit(t, g.env, clone, "commit", "--quiet", "--amend", "-m", "rewritten")
	rewritten := mustGit(t, g.env, clone, "rev-parse", "HEAD")
	mustGit(t, g.env, clone, "push", "--quiet", "--force", "origin", "trunk")
	if got := g.rev(t, g.upstream, "trunk"); got != rewritten {
		t.Fatalf("upstream trunk = %s, want the force-pushed %s", got, rewritten)
	}

	// Someone else moves the upstream; the gate has not fetched it. The
	// agent's forced push must not overwrite it.
	other := g.clone(t)
	mustGit(t, g.env, g.work, "fetch", "--quiet", g.upstream, "trunk")
	mustGit(t, g.env, g.work, "reset", "--quiet", "--hard", "FETCH_HEAD")
	theirs := g.moveUpstream(t, "theirs")
	mustGit(t, g.env, other, "commit", "--quiet", "--allow-empty", "-m", "mine")
	if out, err := runGit(g.env, other, "push", "--force", "origin", "trunk"); err == nil {
		t.Fatalf("a forced push overwrote an upstream commit the gate never saw:\n%s", out)
	}
	if got := g.rev(t, g.upstream, "trunk"); got != theirs {
		t.Errorf("upstream trunk = %s, want their %s kept", got, theirs)
	}
}

// TestGatePushIsAtomic: a push of two refs where the upstream refuses one
// lands neither.
func TestGatePushIsAtomic(t *testing.T) {
	g := newTestGate(t)
	clone := g.clone(t)
	hook := filepath.Join(g.upstream, "hooks", "update")
	mustWrite(t, hook, []byte("#!/bin/sh\n[ \"$1\" = refs/heads/bad ] && exit 1\nexit 0\n"))
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	commit(t, g.env, clone, "second")
	if out, err := runGit(g.env, clone, "push", "origin", "HEAD:refs/heads/good", "HEAD:refs/heads/bad"); err == nil {
		t.Fatalf("the push succeeded though the upstream refuses bad:\n%s", out)
	}
	if out, err := runGit(g.env, "", "--git-dir="+g.upstream, "rev-parse", "--verify", "--quiet", "refs/heads/good"); err == nil {
		t.Errorf("upstream took good (%s) while refusing bad: not atomic", out)
	}
}

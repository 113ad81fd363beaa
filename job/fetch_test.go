package job

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchBringsTheWorkHome: a new branch, a moved main and the
// uncommitted work (staged, unstaged, untracked; not the ignored file)
// land under bottle/demo/, and nothing else changes on either side.
func TestFetchBringsTheWorkHome(t *testing.T) {
	w := newWorld(t)
	w.git(w.guest, "switch", "-q", "-c", "feature")
	w.write(w.guest, "a", "changed on feature\n")
	w.git(w.guest, "commit", "-q", "-am", "feature work")
	feature := w.git(w.guest, "rev-parse", "HEAD")
	w.write(w.guest, "b", "staged\n")
	w.git(w.guest, "add", "b")
	w.write(w.guest, "c", "unstaged\n")
	w.write(w.guest, "new/untracked", "untracked\n")
	w.write(w.guest, "secret.env", "TOKEN=ignored\n")
	hostBefore, guestBefore := w.hostState(), w.guestState()

	r := w.runner(nil)
	res, err := w.fetch(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := w.tracking()
	if got["feature"] != feature || got["main"] != w.base || len(got) != 3 {
		t.Fatalf("tracking refs %v, want feature=%s main=%s and uncommitted", got, feature, w.base)
	}
	snap := got["uncommitted"]
	if parent := w.git(w.host, "rev-parse", snap+"^"); parent != feature {
		t.Errorf("the snapshot's parent is %s, want the guest's HEAD %s", parent, feature)
	}
	for path, want := range map[string]string{"b": "staged", "c": "unstaged", "new/untracked": "untracked", "a": "changed on feature"} {
		if got := w.git(w.host, "show", snap+":"+path); got != want {
			t.Errorf("snapshot %s = %q, want %q", path, got, want)
		}
	}
	if _, err := w.gitErr(w.host, "cat-file", "-e", snap+":secret.env"); err == nil {
		t.Error("the ignored secret.env is in the snapshot")
	}
	if len(res.Updates) != 3 || len(res.Skipped) != 0 {
		t.Errorf("result %+v", res)
	}
	if after := w.hostState(); after != hostBefore {
		t.Errorf("the host repository changed besides bottle/demo/*:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
	}
	if after := w.guestState(); after != guestBefore {
		t.Errorf("the guest's refs, index or work tree changed:\nbefore:\n%s\nafter:\n%s", guestBefore, after)
	}
	// `git log bottle/demo/feature` works as the issue promises.
	if out := w.git(w.host, "log", "--format=%s", "-1", "bottle/demo/feature"); out != "feature work" {
		t.Errorf("git log bottle/demo/feature: %q", out)
	}

	// Again with nothing new, later: nothing is set, and little travels.
	r.guestExec.Env = append(r.guestExec.Env, "GIT_AUTHOR_DATE=@2000000000 +0000", "GIT_COMMITTER_DATE=@2000000000 +0000")
	res, err = w.fetch(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updates) != 0 {
		t.Errorf("second fetch updated %v", res.Updates)
	}
	if res.Received > 1024 {
		t.Errorf("the second fetch moved %d bytes", res.Received)
	}

	// The agent commits what it left: feature moves, the snapshot goes.
	w.git(w.guest, "add", "-A")
	w.git(w.guest, "commit", "-q", "-m", "the rest")
	res, err = w.fetch(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got = w.tracking()
	if got["feature"] != w.git(w.guest, "rev-parse", "HEAD") || got["uncommitted"] != "" {
		t.Errorf("after a commit in the guest: %v", got)
	}
	if want := "updated  bottle/demo/feature"; len(res.Updates) != 2 || !strings.HasPrefix(res.Updates[1].String(), want) ||
		!strings.HasPrefix(res.Updates[0].String(), "removed  bottle/demo/uncommitted") {
		t.Errorf("updates %v", res.Updates)
	}
}

// TestFetchSendsOnlyWhatIsNew: the launch's base and the last fetch's
// refs are prerequisites, so one new commit is a small bundle.
func TestFetchSendsOnlyWhatIsNew(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 50; i++ {
		w.write(w.host, "big", strings.Repeat("history line\n", 200*(i+1)))
		w.git(w.host, "add", "big")
		w.git(w.host, "commit", "-q", "-m", "history")
	}
	w.base = w.git(w.host, "rev-parse", "HEAD")
	w.git(w.guest, "pull", "-q", "--ff-only")
	w.write(w.guest, "a", "one new commit\n")
	w.git(w.guest, "commit", "-q", "-am", "agent")
	res, err := w.fetch(w.runner(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Received > 2048 {
		t.Errorf("one new commit moved %d bytes", res.Received)
	}
	if w.tracking()["main"] != w.git(w.guest, "rev-parse", "HEAD") {
		t.Error("main did not come home")
	}
}

// TestFetchRefusesBadRefNames: every name git or a person could misread
// is skipped with its reason; the good ref still comes home.
func TestFetchRefusesBadRefNames(t *testing.T) {
	w := newWorld(t)
	w.write(w.guest, "a", "work\n")
	w.git(w.guest, "commit", "-q", "-am", "work")
	tip := w.git(w.guest, "rev-parse", "HEAD")
	bad := []string{
		"refs/heads/a..b", "refs/heads/x\x1b[31mred", "refs/heads/.hidden", "refs/heads/x.lock",
		"refs/heads/bidi\u202eevil", "refs/heads/zero\u200bwidth", "refs/heads/sp ace", "refs/heads/a@{1}",
		"refs/heads/HEAD", "refs/heads/uncommitted", "refs/heads/uncommitted/x", "refs/heads//double",
		"refs/heads/trail.", "refs/heads/star*", "refs/tags/v1", "refs/remotes/origin/main", "HEAD",
		"refs/heads/../../config", "refs/heads/back\\slash", "refs/heads/ok", "refs/heads/ok",
	}
	var lines []string
	for _, n := range bad {
		lines = append(lines, tip+" "+n)
	}
	lines = append(lines, "-"+w.base)
	data := mkBundle(lines, w.pack(w.guest, tip, "^"+w.base))
	before := w.hostState()
	res, err := w.fetch(w.runner(send(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.tracking(); len(got) != 1 || got["ok"] != tip {
		t.Errorf("tracking refs %v, want only ok", got)
	}
	if len(res.Skipped) != len(bad)-1 {
		t.Errorf("skipped %d, want %d: %+v", len(res.Skipped), len(bad)-1, res.Skipped)
	}
	if w.hostState() != before {
		t.Error("the host repository changed besides bottle/demo/*")
	}
}

// TestFetchRefusesAMissingPrerequisite: a bundle thin against a commit
// the host lacks is refused before git reads its pack, and nothing moves.
func TestFetchRefusesAMissingPrerequisite(t *testing.T) {
	w := newWorld(t)
	w.write(w.guest, "a", "guest only\n")
	w.git(w.guest, "commit", "-q", "-am", "guest only")
	lacked := w.git(w.guest, "rev-parse", "HEAD")
	w.write(w.guest, "a", "on top\n")
	w.git(w.guest, "commit", "-q", "-am", "on top")
	tip := w.git(w.guest, "rev-parse", "HEAD")
	data := mkBundle([]string{"-" + lacked, tip + " refs/heads/main"}, w.pack(w.guest, tip, "^"+lacked))
	r := w.runner(send(data))
	_, err := w.fetch(r, Options{})
	if err == nil || !strings.Contains(err.Error(), "prerequisites") || !strings.Contains(err.Error(), lacked) {
		t.Fatalf("err = %v, want the missing prerequisite named", err)
	}
	if len(w.tracking()) != 0 {
		t.Errorf("refs set: %v", w.tracking())
	}
	for _, c := range r.calls {
		if len(c) > 3 && c[3] == "index-pack" {
			t.Error("index-pack ran on a bundle whose prerequisites the host lacks")
		}
	}
}

// TestFetchRefusesCorruptObjects: objects git's fsck rejects (a commit
// with a broken author line, a tree with a path git refuses) never become
// refs: index-pack --strict refuses the pack.
func TestFetchRefusesCorruptObjects(t *testing.T) {
	w := newWorld(t)
	bad := map[string]string{
		"bad email": "tree " + w.git(w.guest, "rev-parse", "HEAD^{tree}") + "\nparent " + w.base +
			"\nauthor evil <evil@example.com 1700000000 +0000\ncommitter evil <e@example.com> 1700000000 +0000\n\nx\n",
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			oid := w.hashObject("commit", body)
			data := mkBundle([]string{"-" + w.base, oid + " refs/heads/evil"}, w.pack(w.guest, oid, "^"+w.base))
			_, err := w.fetch(w.runner(send(data)), Options{})
			if err == nil || !strings.Contains(err.Error(), "index-pack") {
				t.Fatalf("err = %v, want index-pack's refusal", err)
			}
			if len(w.tracking()) != 0 {
				t.Errorf("refs set: %v", w.tracking())
			}
		})
	}
	t.Run("dotgit path", func(t *testing.T) {
		// A tree entry named .git: checking it out would write into .git.
		blob := w.hashObject("blob", "[core]\n\tfsmonitor = touch /tmp/pwned\n")
		tree := w.mktree("100644", ".git", blob)
		commit := w.hashObject("commit", "tree "+tree+"\nparent "+w.base+
			"\nauthor e <e@example.com> 1700000000 +0000\ncommitter e <e@example.com> 1700000000 +0000\n\nx\n")
		data := mkBundle([]string{"-" + w.base, commit + " refs/heads/evil"}, w.pack(w.guest, commit, "^"+w.base))
		if res, err := w.fetch(w.runner(send(data)), Options{}); err == nil {
			t.Fatalf("a tree with a .git entry was accepted: %+v", res)
		}
		if len(w.tracking()) != 0 {
			t.Errorf("refs set: %v", w.tracking())
		}
	})
}

// hashObject writes an object to the guest's repository as is (no checks).
func (w *world) hashObject(typ, body string) string {
	w.t.Helper()
	p := filepath.Join(w.dir, "object")
	must(w.t, os.WriteFile(p, []byte(body), 0o644))
	return w.git(w.guest, "hash-object", "-t", typ, "-w", "--literally", p)
}

// mktree writes a tree of one entry by hand (git mktree would refuse a bad name).
func (w *world) mktree(mode, name, oid string) string {
	w.t.Helper()
	return w.hashObject("tree", mode+" "+name+"\x00"+string(hexBytes(w.t, oid)))
}

// TestFetchRefusesATipThatIsNotACommit: a branch pointing at a blob is refused.
func TestFetchRefusesATipThatIsNotACommit(t *testing.T) {
	w := newWorld(t)
	blob := w.hashObject("blob", "not a commit\n")
	data := mkBundle([]string{"-" + w.base, blob + " refs/heads/blob"}, w.pack(w.guest, blob))
	_, err := w.fetch(w.runner(send(data)), Options{})
	if err == nil || !strings.Contains(err.Error(), "not commits") {
		t.Fatalf("err = %v", err)
	}
	if len(w.tracking()) != 0 {
		t.Errorf("refs set: %v", w.tracking())
	}
}

// TestFetchCapsTheGuest: a guest that sends forever is cut at the cap
// (its command killed) with an error naming the flag; one that sends
// garbage is refused.
func TestFetchCapsTheGuest(t *testing.T) {
	w := newWorld(t)
	r := w.runner(nil)
	r.command = []string{"sh", "-c", "cat /dev/zero"}
	start := time.Now()
	_, err := w.fetch(r, Options{MaxSize: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "more than 1 MiB") || !strings.Contains(err.Error(), "--max-size") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the endless guest was stopped after %s", d)
	}

	r.command = []string{"sh", "-c", "sleep 30"}
	_, err = w.fetch(r, Options{Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Fatalf("a guest that never ends: err = %v", err)
	}

	for name, data := range map[string]string{
		"not a bundle":   "\x1b]0;pwned\x07hello\n",
		"no end":         "# v2 git bundle\n" + w.base + " refs/heads/main\n",
		"long line":      "# v2 git bundle\n" + strings.Repeat("x", 10000) + "\n\n",
		"bad oid":        "# v2 git bundle\nzz refs/heads/main\n\n",
		"filter":         "# v3 git bundle\n@filter=blob:none\n\n",
		"not a pack":     "# v2 git bundle\n" + w.base + " refs/heads/x\n\nJUNKJUNKJUNK",
		"a short pack":   "# v2 git bundle\n" + w.base + " refs/heads/x\n\nPACK",
		"sha256 in v2":   "# v2 git bundle\n" + strings.Repeat("a", 64) + " refs/heads/x\n\n",
		"late @":         "# v3 git bundle\n" + w.base + " refs/heads/x\n@object-format=sha1\n\n",
		"unknown cap":    "# v3 git bundle\n@object-format=sha1\n@evil\n\n",
		"sha1 in v3/256": "# v3 git bundle\n@object-format=sha256\n" + w.base + " refs/heads/x\n\n",
	} {
		_, err := w.fetch(w.runner(send([]byte(data))), Options{})
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("%s: the error carries the guest's escape: %q", name, err)
		}
	}
	if len(w.tracking()) != 0 {
		t.Errorf("refs set: %v", w.tracking())
	}
}

// TestFetchRunsNothingOfTheGuest: a guest repository carrying a hook,
// core.fsmonitor, core.sshCommand and a .gitattributes filter comes home,
// is checked out and inspected on the host, and none of them runs there.
// The control shows the probe would be created, were the guest's config
// read by the host's git.
func TestFetchRunsNothingOfTheGuest(t *testing.T) {
	w := newWorld(t)
	probe := `sh -c 'touch "$PROBE"' probe`
	w.write(w.guest, ".gitattributes", "* filter=probe diff=probe\n")
	w.git(w.guest, "add", ".gitattributes")
	w.git(w.guest, "switch", "-q", "-c", "feature")
	w.git(w.guest, "commit", "-q", "-m", "attributes")
	for k, v := range map[string]string{
		"core.fsmonitor": probe, "core.sshCommand": probe, "filter.probe.smudge": probe, "filter.probe.clean": probe,
		"diff.probe.textconv": probe, "core.pager": probe, "core.hooksPath": ".git/hooks",
	} {
		w.git(w.guest, "config", k, v)
	}
	for _, hook := range []string{"post-checkout", "reference-transaction", "post-index-change", "pre-commit", "post-merge"} {
		w.write(w.guest, ".git/hooks/"+hook, "#!/bin/sh\ntouch \"$PROBE\"\n")
		must(t, os.Chmod(filepath.Join(w.guest, ".git", "hooks", hook), 0o755))
	}
	w.write(w.guest, "a", "uncommitted\n")

	if _, err := w.fetch(w.runner(nil), Options{}); err != nil {
		t.Fatal(err)
	}
	if w.tracking()["feature"] == "" || w.tracking()["uncommitted"] == "" {
		t.Fatalf("refs %v", w.tracking())
	}
	// The user reviews the work with plain git.
	w.git(w.host, "switch", "-q", "-c", "review", "bottle/demo/feature")
	w.git(w.host, "log", "-p", "bottle/demo/uncommitted")
	w.git(w.host, "diff", "bottle/demo/feature", "bottle/demo/uncommitted")
	w.git(w.host, "status")
	w.git(w.host, "switch", "-q", "main")
	if _, err := os.Stat(w.hostProbe); err == nil {
		t.Fatal("a command of the guest's ran on the host")
	}
	// Control: the host's git, made to read the guest's config, runs it.
	w.git(w.host, "-c", "include.path="+filepath.Join(w.guest, ".git", "config"), "switch", "-q", "review")
	if _, err := os.Stat(w.hostProbe); err != nil {
		t.Fatal("control: the probe does not work")
	}
}

// TestFetchNoRepositoryInTheGuest: a workspace without a repository is
// nothing to fetch, not an error.
func TestFetchNoRepositoryInTheGuest(t *testing.T) {
	w := newWorld(t)
	must(t, os.RemoveAll(filepath.Join(w.guest, ".git")))
	res, err := w.fetch(w.runner(nil), Options{})
	if err != nil || !res.NoRepository {
		t.Fatalf("res %+v, err %v", res, err)
	}
	w.guest = filepath.Join(w.dir, "nowhere")
	res, err = w.fetch(w.runner(nil), Options{})
	if err != nil || !res.NoRepository {
		t.Fatalf("no workspace: res %+v, err %v", res, err)
	}
}

// TestFetchNeedsARepository: no --repo and none recorded is ErrNoRepository,
// before any command; a --repo that is no repository fails clearly.
func TestFetchNeedsARepository(t *testing.T) {
	w := newWorld(t)
	r := w.runner(nil)
	b := w.bottle()
	b.Repo = ""
	if _, err := Fetch(context.Background(), r, b, Options{}); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("err = %v", err)
	}
	if len(r.calls) != 0 {
		t.Errorf("commands ran: %v", r.calls)
	}
	_, err := Fetch(context.Background(), r, b, Options{Repo: w.dir})
	if err == nil || !strings.Contains(err.Error(), "host repository") {
		t.Fatalf("--repo of no repository: err = %v", err)
	}
	if r.guestCalls() != 0 {
		t.Error("the guest was asked before the host repository was read")
	}
}

// TestFetchKeepsBranchesTheGuestDropped: without --prune a branch the
// guest deleted stays (and a branch that cannot sit next to it is skipped);
// with --prune it goes and the renamed branch comes.
func TestFetchKeepsBranchesTheGuestDropped(t *testing.T) {
	w := newWorld(t)
	w.git(w.guest, "branch", "topic")
	r := w.runner(nil)
	if _, err := w.fetch(r, Options{}); err != nil {
		t.Fatal(err)
	}
	w.git(w.guest, "branch", "-m", "topic", "topic/renamed")
	res, err := w.fetch(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.tracking(); got["topic"] == "" || got["topic/renamed"] != "" {
		t.Errorf("without --prune: %v", got)
	}
	if len(res.Kept) != 1 || len(res.Skipped) != 1 {
		t.Errorf("kept %v, skipped %v", res.Kept, res.Skipped)
	}
	if _, err := w.fetch(r, Options{Prune: true}); err != nil {
		t.Fatal(err)
	}
	if got := w.tracking(); got["topic"] != "" || got["topic/renamed"] != w.base {
		t.Errorf("with --prune: %v", got)
	}
}

// TestFetchHonestGuestOnSHA256: a sha256 repository travels as a v3 bundle.
func TestFetchHonestGuestOnSHA256(t *testing.T) {
	w := newWorld(t)
	w.host = filepath.Join(w.dir, "host256")
	w.git(w.dir, "init", "-q", "-b", "main", "--object-format=sha256", w.host)
	w.write(w.host, "a", "a\n")
	w.git(w.host, "add", "a")
	w.git(w.host, "commit", "-q", "-m", "a")
	w.base = w.git(w.host, "rev-parse", "HEAD")
	w.guest = filepath.Join(w.dir, "guest256")
	w.git(w.dir, "clone", "-q", "--no-local", w.host, w.guest)
	w.write(w.guest, "a", "b\n")
	w.git(w.guest, "commit", "-q", "-am", "b")
	if _, err := w.fetch(w.runner(nil), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := w.tracking()["main"]; got != w.git(w.guest, "rev-parse", "HEAD") {
		t.Errorf("main = %q", got)
	}
}

var _ io.Writer = (*capture)(nil)

// TestFetchSnapshotEdges: a repository with no commit yet (the snapshot
// has no parent) and a detached HEAD off every branch (the snapshot keeps
// its commits, with no change in the work tree).
func TestFetchSnapshotEdges(t *testing.T) {
	w := newWorld(t)
	w.guest = filepath.Join(w.dir, "fresh")
	w.git(w.dir, "init", "-q", w.guest)
	w.write(w.guest, "new", "first file\n")
	if _, err := w.fetch(w.runner(nil), Options{}); err != nil {
		t.Fatal(err)
	}
	snap := w.tracking()["uncommitted"]
	if snap == "" || w.git(w.host, "show", snap+":new") != "first file" {
		t.Fatalf("unborn HEAD: refs %v", w.tracking())
	}
	if _, err := w.gitErr(w.host, "rev-parse", "-q", "--verify", snap+"^"); err == nil {
		t.Error("the snapshot of a repository with no commit has a parent")
	}

	w = newWorld(t)
	w.git(w.guest, "switch", "-q", "--detach")
	w.write(w.guest, "a", "detached work\n")
	w.git(w.guest, "commit", "-q", "-am", "on a detached HEAD")
	head := w.git(w.guest, "rev-parse", "HEAD")
	if _, err := w.fetch(w.runner(nil), Options{}); err != nil {
		t.Fatal(err)
	}
	snap = w.tracking()["uncommitted"]
	if snap == "" || w.git(w.host, "rev-parse", snap+"^") != head {
		t.Fatalf("detached HEAD: refs %v, want a snapshot on %s", w.tracking(), head)
	}
	// Detached on a branch's tip with a clean tree: nothing to snapshot.
	w.git(w.guest, "switch", "-q", "--detach", "main")
	if _, err := w.fetch(w.runner(nil), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := w.tracking()["uncommitted"]; got != "" {
		t.Errorf("a clean HEAD on main left a snapshot %s", got)
	}
}

package provision

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/shell"
)

// gitEnv is the environment of the tests' git: no global or system config.
func gitEnv(home string) []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+home,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
}

// changedRepo makes a host repository with every kind of uncommitted
// change: staged, unstaged, both, a mode change, deletions (unstaged and
// git rm), a rename, a new file, an intent-to-add, a tracked symlink
// retargeted, a file turned into a symlink, untracked files in new
// directories, an executable, symlinks (relative and to a host path), a
// name with a space and an accent, ignored files (.env, build/), a stash,
// and an unchanged file whose index entry is stale.
// It returns the work tree and HEAD.
func changedRepo(t *testing.T) (string, string) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "app")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	for name, mode := range map[string]fs.FileMode{
		"README": 0o644, "staged.txt": 0o644, "both.txt": 0o644, "unstaged.txt": 0o644, "run.sh": 0o644,
		"gone.txt": 0o644, "rmd.txt": 0o644, "old/name.txt": 0o644, "dir/keep.txt": 0o644, "typechange": 0o644,
	} {
		write(t, filepath.Join(dir, name), name+" at HEAD\n", mode)
	}
	write(t, filepath.Join(dir, ".gitignore"), ".env\nbuild/\n", 0o644)
	symlink(t, "README", filepath.Join(dir, "link-tracked"))
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	write(t, filepath.Join(dir, "README"), "stashed\n", 0o644)
	git(t, dir, "stash", "-q")

	write(t, filepath.Join(dir, "staged.txt"), "staged\n", 0o644)
	write(t, filepath.Join(dir, "both.txt"), "both, staged\n", 0o644)
	git(t, dir, "add", "staged.txt", "both.txt")
	write(t, filepath.Join(dir, "both.txt"), "both, staged, then unstaged\n", 0o644)
	write(t, filepath.Join(dir, "unstaged.txt"), "unstaged\n", 0o644)
	must(t, os.Chmod(filepath.Join(dir, "run.sh"), 0o755))
	must(t, os.Remove(filepath.Join(dir, "gone.txt")))
	git(t, dir, "rm", "-q", "rmd.txt")
	must(t, os.Mkdir(filepath.Join(dir, "new"), 0o755))
	git(t, dir, "mv", "old/name.txt", "new/name.txt")
	write(t, filepath.Join(dir, "added.txt"), "added\n", 0o644)
	git(t, dir, "add", "added.txt")
	write(t, filepath.Join(dir, "intent.txt"), "intent\n", 0o644)
	git(t, dir, "add", "-N", "intent.txt")
	must(t, os.Remove(filepath.Join(dir, "link-tracked")))
	symlink(t, "dir/keep.txt", filepath.Join(dir, "link-tracked"))
	must(t, os.Remove(filepath.Join(dir, "typechange")))
	symlink(t, "README", filepath.Join(dir, "typechange"))
	// Unchanged but stat-dirty: a status that refreshes the index writes it.
	past := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, "dir", "keep.txt"), past, past))
	write(t, filepath.Join(dir, "untracked.txt"), "untracked\n", 0o644)
	write(t, filepath.Join(dir, "newdir", "sub", "deep.txt"), "deep\n", 0o600)
	write(t, filepath.Join(dir, "tool.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "with space ü.txt"), "accent\n", 0o644)
	symlink(t, "README", filepath.Join(dir, "lnk"))
	symlink(t, "/etc/passwd", filepath.Join(dir, "abs-link"))
	write(t, filepath.Join(dir, ".env"), "API_KEY="+secret+"\n", 0o600)
	write(t, filepath.Join(dir, "build", "out.bin"), secret+"-build\n", 0o644)
	return dir, git(t, dir, "rev-parse", "HEAD")
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(link), 0o755))
	must(t, os.Symlink(target, link))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// treeState is every file under dir but skip (names at the top): its mode
// and content, or its symlink's target.
func treeState(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s && d.IsDir() {
				return filepath.SkipDir
			}
			if rel == s {
				return nil
			}
		}
		info, err := d.Info()
		if err != nil || rel == "." {
			return err
		}
		switch {
		case d.IsDir(): // git keeps no directory: an empty one (git mv leaves old/) is no difference
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link -> " + target
			return err
		default:
			b, err := os.ReadFile(p)
			out[rel] = fmt.Sprintf("%04o %x", info.Mode().Perm(), sha256.Sum256(b))
			return err
		}
		return nil
	})
	must(t, err)
	return out
}

// listed runs List with real git through the runner.
func listed(t *testing.T, dir string) *Worktree {
	t.Helper()
	w := &Worktree{Dir: dir}
	must(t, w.List(context.Background(), &shell.Exec{Env: gitEnv(dir)}))
	return w
}

// checkedOut builds the archive for repo, extracts the workspace part of it
// to a fresh directory and runs the guest's checkout step there with real
// git. It returns the workspace.
func checkedOut(t *testing.T, repo *Repo) string {
	t.Helper()
	ws := filepath.Join(t.TempDir(), "workspace")
	extractWorkspace(t, Archive(Files(Inputs{Repo: repo}, Live{CAKind: CAPipelock, Upstreams: upstreams})), ws)
	argv := checkoutArgv(repo)
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, Workspace, ws)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = ws, gitEnv(ws)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the guest's checkout: %v\n%s", err, out)
	}
	return ws
}

// extractWorkspace writes the archive's entries under the workspace to dst,
// as tar in the guest would: directories, files with their modes, symlinks.
func extractWorkspace(t *testing.T, r io.Reader, dst string) {
	t.Helper()
	prefix := strings.TrimPrefix(Workspace, "/") + "/"
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		must(t, err)
		rel, ok := strings.CutPrefix(h.Name, prefix)
		if !ok {
			continue
		}
		if strings.Contains("/"+rel+"/", "/../") {
			t.Fatalf("entry %q leaves the workspace", h.Name)
		}
		p := filepath.Join(dst, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			must(t, os.MkdirAll(p, 0o755))
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			must(t, err)
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, b, fs.FileMode(h.Mode).Perm()))
			must(t, os.Chmod(p, fs.FileMode(h.Mode).Perm())) // past the umask
		case tar.TypeSymlink:
			must(t, os.Symlink(h.Linkname, p))
		default:
			t.Fatalf("%s: type %q", h.Name, h.Typeflag)
		}
	}
}

// TestWorktreeTravels: the guest's workspace is the host's HEAD plus every
// uncommitted change, file for file (content, mode, symlinks as symlinks),
// without the ignored files; the changes are uncommitted there; the guest
// records the base commit; the host repository is byte for byte what it
// was. --head-only gives HEAD alone.
func TestWorktreeTravels(t *testing.T) {
	dir, head := changedRepo(t)
	hostGit, hostTree := treeState(t, filepath.Join(dir, ".git")), treeState(t, dir, ".git")

	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	must(t, err)
	repo.Worktree = listed(t, dir)
	ws := checkedOut(t, repo)

	want := treeState(t, dir, ".git", ".env", "build")
	if got := treeState(t, ws, ".git"); !equalMaps(got, want) {
		t.Errorf("the guest's work tree differs from the host's (less the ignored files):\n%s", diffMaps(got, want))
	}
	if _, err := os.Lstat(filepath.Join(ws, ".env")); err == nil {
		t.Error(".env, ignored on the host, reached the guest")
	}
	if got := git(t, ws, "rev-parse", "HEAD", BaseRef); got != head+"\n"+head {
		t.Errorf("guest HEAD and %s: %q, want the host's HEAD %s", BaseRef, got, head)
	}
	if got := git(t, ws, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("guest HEAD is %q", got)
	}
	git(t, ws, "diff", "--cached", "--quiet") // the index is HEAD's: every change is uncommitted
	wantStatus := []string{                   // in path order; untracked last
		" M both.txt", " D gone.txt", " M link-tracked", " D old/name.txt", " D rmd.txt", " M run.sh",
		" M staged.txt", " T typechange", " M unstaged.txt",
		"?? abs-link", "?? added.txt", "?? intent.txt", "?? lnk", "?? new/name.txt", "?? newdir/sub/deep.txt",
		"?? tool.sh", "?? untracked.txt", `?? "with space ü.txt"`,
	}
	// (git trims the output: the first line's leading space)
	if got := git(t, ws, "-c", "core.quotePath=false", "status", "--porcelain", "--untracked-files=all"); got != strings.TrimSpace(strings.Join(wantStatus, "\n")) {
		t.Errorf("guest git status:\n%s\nwant\n%s", got, strings.Join(wantStatus, "\n"))
	}
	if _, err := os.Lstat(filepath.Join(ws, changedList)); err == nil {
		t.Errorf("%s left in the guest", changedList)
	}

	if after := treeState(t, filepath.Join(dir, ".git")); !equalMaps(after, hostGit) {
		t.Errorf("the host's .git changed:\n%s", diffMaps(after, hostGit))
	}
	if after := treeState(t, dir, ".git"); !equalMaps(after, hostTree) {
		t.Errorf("the host's work tree changed:\n%s", diffMaps(after, hostTree))
	}

	// --head-only: HEAD alone, nothing of the work tree.
	repo.Worktree = nil
	ws = checkedOut(t, repo)
	if st := git(t, ws, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("--head-only: the guest has changes:\n%s", st)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "staged.txt")); string(b) != "staged.txt at HEAD\n" {
		t.Errorf("--head-only: staged.txt is %q", b)
	}
}

func discardLog() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}

func equalMaps(a, b map[string]string) bool { return diffMaps(a, b) == "" }

// diffMaps lists the keys whose values differ: got, then want.
func diffMaps(got, want map[string]string) string {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if got[k] != want[k] {
			out = append(out, fmt.Sprintf("%s: %q, want %q", k, got[k], want[k]))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestWorktreeUnbornAndClean: a repository with no commit yet sends its
// files as untracked ones and records no base; a clean one sends nothing
// and checks out as --head-only does.
func TestWorktreeUnbornAndClean(t *testing.T) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "new")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	write(t, filepath.Join(dir, "draft.txt"), "draft\n", 0o644)
	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	must(t, err)
	repo.Worktree = listed(t, dir)
	if repo.Worktree.Base != "" || len(repo.Worktree.Files) != 1 {
		t.Errorf("unborn: %+v", repo.Worktree)
	}
	ws := checkedOut(t, repo)
	if st := git(t, ws, "status", "--porcelain"); st != "?? draft.txt" {
		t.Errorf("unborn: guest status %q", st)
	}

	dir = filepath.Join(t.TempDir(), "clean")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", "--object-format=sha256", dir)
	write(t, filepath.Join(dir, "README"), "app 2\n", 0o644)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	head := git(t, dir, "rev-parse", "HEAD")
	repo, err = ReadRepo(filepath.Join(dir, ".git"))
	must(t, err)
	repo.Worktree = listed(t, dir)
	if repo.Worktree.Base != head || len(repo.Worktree.Files)+len(repo.Worktree.Changed) != 0 {
		t.Errorf("clean sha256 repository: %+v, want base %s and nothing else", repo.Worktree, head)
	}
	ws = checkedOut(t, repo)
	if st := git(t, ws, "status", "--porcelain"); st != "" {
		t.Errorf("clean: guest status %q", st)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "README")); string(b) != "app 2\n" {
		t.Errorf("clean: README %q", b)
	}
}

// TestWorktreeSparse: the files a host's sparse checkout leaves out are
// not deletions: the guest, which has no sparse patterns, checks them out.
func TestWorktreeSparse(t *testing.T) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "app")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	write(t, filepath.Join(dir, "p", "1"), "1\n", 0o644)
	write(t, filepath.Join(dir, "q", "2"), "2\n", 0o644)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	git(t, dir, "sparse-checkout", "set", "p")
	if _, err := os.Lstat(filepath.Join(dir, "q", "2")); err == nil {
		t.Fatal("the sparse checkout kept q/2")
	}
	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	must(t, err)
	repo.Worktree = listed(t, dir)
	ws := checkedOut(t, repo)
	if st := git(t, ws, "status", "--porcelain"); st != "" {
		t.Errorf("guest status:\n%s", st)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "q", "2")); string(b) != "2\n" {
		t.Errorf("q/2 in the guest: %q", b)
	}
}

// TestParseStatus: what git status says becomes the base, the changed
// paths and the files that travel; a path into a .git or out of the tree
// never travels nor reaches the guest's list (git makes none; one would
// overwrite the guest's .git); a repository of its own stays home.
func TestParseStatus(t *testing.T) {
	oid := strings.Repeat("a", 40)
	rec := func(xy, mH, mW, p string) string {
		return "1 " + xy + " N... " + mH + " 100644 " + mW + " " + oid + " " + oid + " " + p
	}
	in := strings.Join([]string{
		"# branch.oid " + oid, "# branch.head main",
		rec(".M", "100644", "100644", "mod file.txt"),
		rec("D.", "100644", "000000", "deleted"),
		rec("A.", "000000", "100644", "added"),
		rec(".M", "160000", "160000", "submodule"),
		"u UU N... 100644 100644 100644 100644 " + oid + " " + oid + " " + oid + " conflict",
		"u DU N... 100644 000000 100644 100644 " + oid + " " + oid + " " + oid + " theirs",
		"? new/file", "? nested/", "! .env",
		"? .git/hooks/post-checkout", "? a/.GIT/config", rec(".M", "100644", "100644", "../escape"), "? /abs",
	}, "\x00") + "\x00"
	st, err := parseStatus([]byte(in))
	must(t, err)
	if st.base != oid {
		t.Errorf("base %q", st.base)
	}
	if got, want := strings.Join(st.changed, ","), "conflict,deleted,mod file.txt"; got != want {
		t.Errorf("changed %q, want %q", got, want)
	}
	if got, want := strings.Join(st.files, ","), "added,conflict,mod file.txt,new/file,theirs"; got != want {
		t.Errorf("files %q, want %q", got, want)
	}
	if skipped := strings.Join(st.skipped, "\n"); len(st.skipped) != 5 || !strings.Contains(skipped, "nested/: a repository of its own") {
		t.Errorf("skipped:\n%s", skipped)
	}

	for _, bad := range []string{"# branch.oid zz", "2 R. N... 100644 100644 100644 " + oid + " " + oid + " R100 new\x00old", "1 .M N..."} {
		if _, err := parseStatus([]byte(bad + "\x00")); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// TestWorktreeSymlinkedParent: a tracked directory replaced by a symlink
// to a host directory: the link travels, nothing is read through it (git
// too sees the files under it as deleted).
func TestWorktreeSymlinkedParent(t *testing.T) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "app")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	write(t, filepath.Join(dir, "d", "x"), "x\n", 0o644)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	outside := filepath.Join(t.TempDir(), "outside")
	write(t, filepath.Join(outside, "x"), secret+"-outside\n", 0o644)
	must(t, os.RemoveAll(filepath.Join(dir, "d")))
	symlink(t, outside, filepath.Join(dir, "d"))

	w := listed(t, dir)
	w.Files = append(w.Files, "d/x") // as if status had named it: the walk must not follow d
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	must(t, writeWorktree(tw, w, Workspace, Agent))
	must(t, tw.Close())
	if bytes.Contains(b.Bytes(), []byte(secret)) {
		t.Error("a file was read through a symlinked directory")
	}
	names := archiveNames(t, b.Bytes())
	if want := []string{"home/node/workspace/.git/claude-bottle-changed", "home/node/workspace/.git/refs/claude-bottle/base", "home/node/workspace/d"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("archive %q, want %q", names, want)
	}
}

func archiveNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	for _, h := range readEntries(t, bytes.NewReader(b)) {
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return names
}

// TestWorktreeCaps: one file over MaxWorktreeFile, or files over
// MaxWorktreeSize together, fail the listing with a way out (sparse files:
// nothing is written); a file that grows past the cap after the listing
// fails the archive, and a FIFO put in a file's place is skipped, never
// opened for a blocking read.
func TestWorktreeCaps(t *testing.T) {
	needGit(t)
	dir := filepath.Join(t.TempDir(), "app")
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	big := filepath.Join(dir, "big.bin")
	write(t, big, "", 0o644)
	must(t, os.Truncate(big, MaxWorktreeFile+1))
	w := &Worktree{Dir: dir}
	err := w.List(context.Background(), &shell.Exec{Env: gitEnv(dir)})
	if err == nil || !strings.Contains(err.Error(), "big.bin is larger than 100 MiB") || !strings.Contains(err.Error(), "--head-only") {
		t.Errorf("a file over the cap: %v", err)
	}

	must(t, os.Truncate(big, MaxWorktreeFile))
	for i := range MaxWorktreeSize / MaxWorktreeFile {
		p := filepath.Join(dir, fmt.Sprintf("part%d", i))
		write(t, p, "", 0o644)
		must(t, os.Truncate(p, MaxWorktreeFile))
	}
	err = w.List(context.Background(), &shell.Exec{Env: gitEnv(dir)})
	if err == nil || !strings.Contains(err.Error(), "come to more than 1 GiB") {
		t.Errorf("files over the total: %v", err)
	}

	must(t, os.RemoveAll(dir))
	git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	write(t, filepath.Join(dir, "grows"), "small\n", 0o644)
	write(t, filepath.Join(dir, "fifo"), "soon a FIFO\n", 0o644)
	w = listed(t, dir)
	must(t, os.Truncate(filepath.Join(dir, "grows"), MaxWorktreeFile+1))
	must(t, os.Remove(filepath.Join(dir, "fifo")))
	mkfifo(t, filepath.Join(dir, "fifo"))
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, Archive([]File{{Path: Workspace, Owner: Agent, Worktree: w}}))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "grows is larger than 100 MiB") {
			t.Errorf("a file that grew: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the archive blocked on a FIFO")
	}
	must(t, os.Truncate(filepath.Join(dir, "grows"), 6))
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	must(t, writeWorktree(tw, w, Workspace, Agent))
	if names := strings.Join(archiveNames(t, b.Bytes()), " "); strings.Contains(names, "fifo") || !strings.Contains(names, "grows") {
		t.Errorf("archive: %s", names)
	}
}

// TestWorktreeListFails: without git on the host the listing says what it
// needed; the dry-run's empty status lists nothing.
func TestWorktreeListFails(t *testing.T) {
	w := &Worktree{Dir: t.TempDir()}
	err := w.List(context.Background(), &shell.Exec{Env: []string{"PATH=" + t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "list the uncommitted changes with git on the host: git -C") {
		t.Errorf("no git: %v", err)
	}
	var out bytes.Buffer
	must(t, w.List(context.Background(), &shell.DryRun{W: &out}))
	if len(w.Files)+len(w.Changed) != 0 || w.Base != "" || !strings.Contains(out.String(), "git -C "+w.Dir+" --git-dir=.git --work-tree=. --no-optional-locks") {
		t.Errorf("dry-run: %+v\n%s", w, out.String())
	}
	var in cappedBuffer
	in.max = 4
	if _, err := in.Write([]byte("12345")); err == nil || !in.over || errors.Is(err, io.EOF) {
		t.Errorf("cappedBuffer took 5 bytes of 4: %v", err)
	}
}

// TestWorktreeNote: the dry-run says what of the work tree travels, and
// provisioning runs as many commands with the working tree as without.
func TestWorktreeNote(t *testing.T) {
	dir, _ := changedRepo(t)
	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	must(t, err)
	repo.Worktree = listed(t, dir)
	notes := strings.Join(Notes(Files(Inputs{Repo: repo}, Live{CAKind: CAPipelock})), "\n")
	if want := "node - /home/node/workspace/ <- " + dir + ": " + worktreeNote; !strings.Contains(notes, want) {
		t.Errorf("notes lack %q:\n%s", want, notes)
	}
	count := func(r *Repo) int {
		g := &countingGuest{}
		must(t, Run(context.Background(), g, discardLog(), Inputs{Repo: r}, Live{CA: []byte("C"), CAKind: CAPipelock}, nil))
		return g.n
	}
	headOnly := *repo
	headOnly.Worktree = nil
	if with, without := count(repo), count(&headOnly); with != without {
		t.Errorf("%d commands with the working tree, %d without", with, without)
	}
}

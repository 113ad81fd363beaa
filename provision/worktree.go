package provision

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Worktree is the host working tree of --cwd as it travels, so that the
// agent starts where the user is: HEAD plus the uncommitted changes.
//
// One `git status` on the host (List, a launch step through the runner:
// the user's own git on the user's own repository) says which paths differ
// from HEAD, staged or not, and which untracked files git does not ignore.
// Those files travel in the archive as they are on the host (symlinks as
// symlinks, modes kept); ignored files never do. In the guest,
// checkoutScript checks every other file out of HEAD and leaves the
// changes uncommitted: the host's index does not travel, so they are all
// unstaged there. Nothing of the host repository is written: status runs
// with --no-optional-locks (no index refresh) and core.fsmonitor off (no
// daemon started), and the files are only read.
type Worktree struct {
	Dir string // the host working tree: the --cwd directory

	// Set by List.
	//
	// Base is the commit the changes are relative to ("" on an unborn
	// HEAD): the guest's branch starts there, recorded as BaseRef.
	Base string
	// Changed are HEAD's paths the host has otherwise (modified, type
	// changed or deleted): the guest does not check them out of HEAD.
	Changed []string
	// Files are the paths whose host version travels, sorted: changed
	// and untracked, as status found them; Size is their total.
	Files []string
	Size  int64
	// Skipped say what status listed that stays on the host, and why.
	Skipped []string
}

// Caps on what the working tree sends: the changed and untracked files,
// not HEAD's (those come out of the objects). 100 MiB is the largest file
// GitHub takes; a tree of untracked build output is what the total stops.
const (
	MaxWorktreeFile = 100 << 20
	MaxWorktreeSize = 1 << 30
	// maxStatusOutput bounds what List reads of git status (a few
	// hundred thousand paths).
	maxStatusOutput = 64 << 20
)

// gitlinkMode is a submodule's mode in git status.
const gitlinkMode = "160000"

// Guest paths of the checkout.
const (
	// BaseRef records in the guest's repository the host commit the
	// workspace started from (fetch itself reads the agent's label).
	BaseRef = "refs/claude-bottle/base"
	// changedList is Changed, NUL-separated, for checkoutScript, which
	// removes it.
	changedList = ".git/claude-bottle-changed"
)

// statusArgv is the host command List runs. -C, --git-dir and --work-tree
// name the repository whatever GIT_DIR or GIT_WORK_TREE claude-bottle's
// environment holds.
func (w *Worktree) statusArgv() []string {
	return []string{"git", "-C", w.Dir, "--git-dir=.git", "--work-tree=.",
		"--no-optional-locks",        // no index refresh written back
		"-c", "core.fsmonitor=false", // starts no fsmonitor daemon
		"status", "--porcelain=v2", "-z",
		"--branch", "--no-ahead-behind", // the commit (branch.oid), without counting against the upstream
		"--untracked-files=all",   // each untracked file, not its directory
		"--no-renames",            // a rename is a deletion and a new file
		"--ignore-submodules=all"} // a submodule's content stays home
}

// List runs git status on the host and checks what it names: paths inside
// the tree and not under .git, files within the caps. A dry-run's status
// prints nothing, so nothing is listed.
func (w *Worktree) List(ctx context.Context, r shell.Runner) error {
	out := &cappedBuffer{max: maxStatusOutput}
	if err := r.Run(ctx, shell.Cmd{Argv: w.statusArgv(), Stdout: out}); err != nil {
		if out.over {
			return fmt.Errorf("git status in %s listed more than %s of paths; ignore what should stay home (.gitignore), or launch with --head-only", w.Dir, byteSize(maxStatusOutput))
		}
		return fmt.Errorf("list the uncommitted changes with git on the host: %w", err)
	}
	st, err := parseStatus(out.Bytes())
	if err != nil {
		return fmt.Errorf("git status in %s: %w", w.Dir, err)
	}
	w.Base, w.Changed, w.Skipped = st.base, st.changed, st.skipped
	return w.check(st.files)
}

// check keeps the files that travel: those that still exist as a regular
// file or symlink, with no symlink on the way, within the caps.
func (w *Worktree) check(paths []string) error {
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	t := treeWalk{root: root, dirs: map[string]bool{}}
	w.Files, w.Size = nil, 0
	for _, p := range paths {
		fi, why, err := t.lstat(p)
		if err != nil {
			return err
		}
		if why != "" {
			w.Skipped = append(w.Skipped, p+": "+why)
			continue
		}
		if fi == nil {
			continue // gone since status: deleted
		}
		if err := w.add(p, fi.Size(), fi.Mode().IsRegular()); err != nil {
			return err
		}
		w.Files = append(w.Files, p)
	}
	return nil
}

// add counts one file against the caps.
func (w *Worktree) add(p string, size int64, regular bool) error {
	if !regular {
		return nil // a symlink: its target's name only
	}
	if size > MaxWorktreeFile {
		return fmt.Errorf("%s is larger than %s, the most one uncommitted or untracked file may be; "+
			"ignore it (.gitignore), or launch with --head-only", path.Join(w.Dir, p), byteSize(MaxWorktreeFile))
	}
	if w.Size += size; w.Size > MaxWorktreeSize {
		return fmt.Errorf("the uncommitted and untracked files of %s come to more than %s (at %s); "+
			"ignore what should stay home (.gitignore), or launch with --head-only", w.Dir, byteSize(MaxWorktreeSize), p)
	}
	return nil
}

// status is what parseStatus keeps of git status.
type status struct {
	base           string
	changed, files []string
	skipped        []string
}

// parseStatus reads `git status --porcelain=v2 -z --branch`: the branch.oid
// header, ordinary ("1") and unmerged ("u") entries, untracked ("?") and
// ignored ("!") ones. Renames ("2") were turned off. A path that is not
// a clean relative path, or that lies in a .git, is never a file that
// travels nor one the guest is told about.
func parseStatus(b []byte) (status, error) {
	var st status
	for _, rec := range strings.Split(string(b), "\x00") {
		if rec == "" {
			continue
		}
		if err := st.record(rec); err != nil {
			return status{}, err
		}
	}
	sort.Strings(st.changed)
	sort.Strings(st.files)
	return st, nil
}

// record reads one entry of git status.
func (st *status) record(rec string) error {
	kind, rest, _ := strings.Cut(rec, " ")
	var inHead, onHost bool
	var p string
	switch kind {
	case "#":
		if oid, ok := strings.CutPrefix(rest, "branch.oid "); ok && oid != "(initial)" {
			if !hexIDRE.MatchString(oid) || (len(oid) != 40 && len(oid) != 64) {
				return fmt.Errorf("not a commit: branch.oid %q", oid)
			}
			st.base = oid
		}
		return nil
	case "1": // XY sub mH mI mW hH hI path
		f := strings.SplitN(rest, " ", 8)
		if len(f) != 8 {
			return fmt.Errorf("short entry %q", rec)
		}
		if f[2] == gitlinkMode && f[4] == gitlinkMode {
			return nil // a submodule's new commit: the guest keeps HEAD's, as with --head-only
		}
		inHead, onHost, p = f[2] != "000000", f[4] != "000000", f[7]
	case "u": // XY sub m1 m2 m3 mW h1 h2 h3 path; stage 2 is HEAD's
		f := strings.SplitN(rest, " ", 10)
		if len(f) != 10 {
			return fmt.Errorf("short entry %q", rec)
		}
		inHead, onHost, p = f[3] != "000000", f[5] != "000000", f[9]
	case "?":
		onHost, p = true, rest
	case "!":
		return nil // ignored: never travels
	default:
		return fmt.Errorf("unknown entry %q", rec)
	}
	if dir, ok := strings.CutSuffix(p, "/"); ok && kind == "?" {
		st.skipped = append(st.skipped, dir+"/: a repository of its own, stays on the host")
		return nil
	}
	if !validWorktreePath(p) {
		st.skipped = append(st.skipped, fmt.Sprintf("%q: not a path that can travel", p))
		return nil
	}
	if inHead {
		st.changed = append(st.changed, p)
	}
	if onHost {
		st.files = append(st.files, p)
	}
	return nil
}

// validWorktreePath: relative, clean, and not in a .git (the guest's is
// claude-bottle's, a nested one is another repository). Git refuses such
// paths itself; they are checked anyway, since one would overwrite the
// guest's .git.
func validWorktreePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." || strings.EqualFold(c, ".git") {
			return false
		}
	}
	return true
}

// treeWalk looks at the working tree through an os.Root (nothing outside
// it can be reached, whatever a symlink says) and refuses what git would
// not read either: a path under a symlink.
type treeWalk struct {
	root *os.Root
	dirs map[string]bool // parent directory -> it is a real directory
}

// lstat is path p's own FileInfo; nil when it no longer exists; why says
// why it does not travel (a special file, a directory, a symlink on the way).
func (t treeWalk) lstat(p string) (fs.FileInfo, string, error) {
	if dir := path.Dir(p); dir != "." {
		ok, err := t.realDir(dir)
		if err != nil || !ok {
			return nil, "", err // beneath a symlink, or gone: deleted, as git sees it
		}
	}
	fi, err := t.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m := fi.Mode()
	switch {
	case m.IsRegular(), m&fs.ModeSymlink != 0:
		return fi, "", nil
	case m.IsDir():
		return nil, "a directory (a submodule's or another repository's), stays on the host", nil
	}
	return nil, "not a regular file or symlink, skipped", nil
}

// realDir says whether dir and each of its parents is a directory, not a
// symlink.
func (t treeWalk) realDir(dir string) (bool, error) {
	if ok, seen := t.dirs[dir]; seen {
		return ok, nil
	}
	ok := true
	if parent := path.Dir(dir); parent != "." {
		var err error
		if ok, err = t.realDir(parent); err != nil {
			return false, err
		}
	}
	if ok {
		fi, err := t.root.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			ok = false
		case err != nil:
			return false, err
		default:
			ok = fi.IsDir()
		}
	}
	t.dirs[dir] = ok
	return ok, nil
}

// open opens the regular file lstat saw, never blocking, and makes sure it
// is still that file (not a FIFO or a symlink put in its place).
func (t treeWalk) open(p string, seen fs.FileInfo) (*os.File, fs.FileInfo, error) {
	f, err := t.root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && (!fi.Mode().IsRegular() || !os.SameFile(fi, seen)) {
		err = fmt.Errorf("%s changed while it was read", p)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// worktreeNote says in the dry-run what of the working tree travels.
const worktreeNote = "the files git status finds changed from HEAD (staged or not) or untracked and not ignored, " +
	"as they are on the host (symlinks as symlinks, modes kept); the guest checks the rest out of HEAD " +
	"and leaves the changes uncommitted"

// writeWorktree writes the files of w under dst (the workspace), each
// checked again as List saw it, then what checkoutScript reads: the
// changed paths and the base commit.
func writeWorktree(tw *tar.Writer, w *Worktree, dst string, u User) error {
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return err
	}
	defer root.Close()
	t := treeWalk{root: root, dirs: map[string]bool{}}
	sent := &Worktree{Dir: w.Dir}
	written := map[string]bool{}
	for _, p := range w.Files {
		fi, why, err := t.lstat(p)
		if err != nil {
			return err
		}
		if fi == nil || why != "" {
			continue // gone or changed kind since List: it stays out
		}
		if err := writeParents(tw, dst, p, u, written); err != nil {
			return err
		}
		if err := sent.writeEntry(tw, t, p, dst+"/"+p, fi, u); err != nil {
			return err
		}
	}
	var list bytes.Buffer
	for _, p := range w.Changed {
		list.WriteString(p + "\x00")
	}
	if err := writeContent(tw, dst+"/"+changedList, u, 0o644, list.Bytes()); err != nil {
		return err
	}
	if w.Base == "" {
		return nil
	}
	return writeContent(tw, dst+"/.git/"+BaseRef, u, 0o644, []byte(w.Base+"\n"))
}

// writeParents writes p's parent directories that are not written yet, as
// a checkout makes them (0755, owned by u).
func writeParents(tw *tar.Writer, dst, p string, u User, written map[string]bool) error {
	dir := path.Dir(p)
	if dir == "." || written[dir] {
		return nil
	}
	if err := writeParents(tw, dst, dir, u, written); err != nil {
		return err
	}
	written[dir] = true
	return tw.WriteHeader(header(dst+"/"+dir+"/", tar.TypeDir, u, 0o755, 0))
}

// writeEntry writes one file or symlink, counting it against the caps again.
func (sent *Worktree) writeEntry(tw *tar.Writer, t treeWalk, p, name string, fi fs.FileInfo, u User) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := t.root.Readlink(p)
		if err != nil {
			return err
		}
		h := header(name, tar.TypeSymlink, u, 0o777, 0)
		h.Linkname = target
		return tw.WriteHeader(h)
	}
	f, fi, err := t.open(p, fi)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := sent.add(p, fi.Size(), true); err != nil {
		return err
	}
	if err := tw.WriteHeader(header(name, tar.TypeReg, u, fi.Mode(), fi.Size())); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// checkoutScript runs in the guest as the agent user, in the workspace,
// after the archive brought .git and the host's changed files: `sh -c
// checkoutScript claude-bottle-checkout WORKSPACE`. The branch and the index go to
// the base commit (the work tree is left as it is); the changed paths are
// marked skip-worktree so that checkout-index writes every other file of
// HEAD (it overwrites nothing), then unmarked: what the host deleted is
// deleted, what it changed is a change, what is untracked stays so.
const checkoutScript = `set -eu
cd "$1"
base=$(git rev-parse -q --verify ` + BaseRef + `^{commit}) || base=
git reset -q $base # unquoted: an object id, or nothing on an unborn HEAD
git update-index --skip-worktree -z --stdin <` + changedList + `
git checkout-index --all
git update-index --no-skip-worktree -z --stdin <` + changedList + `
rm -f ` + changedList + `
`

// checkoutArgv is the guest's checkout step: HEAD alone (--head-only), or
// HEAD with the host's changes.
func checkoutArgv(r *Repo) []string {
	if r.Worktree == nil {
		return []string{"git", "-C", Workspace, "reset", "--hard", "--quiet"}
	}
	return []string{"sh", "-c", checkoutScript, "claude-bottle-checkout", Workspace}
}

// log says what of the working tree travels and what stays home (nil: HEAD alone).
func (w *Worktree) log(log logrus.FieldLogger) {
	if w == nil {
		return
	}
	log.Infof("workspace: HEAD %s and %d changed or untracked files (%s) from %s",
		w.baseName(), len(w.Files), byteSize(w.Size), w.Dir)
	for _, s := range w.Skipped {
		log.Infof("workspace: %s", s)
	}
}

func (w *Worktree) baseName() string {
	if w.Base == "" {
		return "(no commit yet)"
	}
	return w.Base
}

// cappedBuffer keeps at most max bytes; a write past it fails (the command
// then fails) and sets over.
type cappedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return 0, fmt.Errorf("more than %s", byteSize(int64(b.max)))
	}
	return b.Buffer.Write(p)
}

package provision

import (
	"archive/tar"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Repo is what the guest's .git is made of, read from the host's .git
// (--cwd) at prepare: what the generated config needs. The refs and the
// objects are read when the archive is.
//
// What travels from the host: HEAD (validated), refs/ and objects/
// (regular files and directories, modes kept), packed-refs and shallow.
// The config is claude-bottle's own (RenderRepoConfig). Nothing else: not
// the host's config (http.*.extraheader, credential helpers, includes,
// url.*, tokens in remote URLs), hooks/, info/, logs/, worktrees/,
// modules/, lfs/, the index, FETCH_HEAD, ORIG_HEAD, COMMIT_EDITMSG,
// description, config.worktree, nor any symlink.
type Repo struct {
	Dir          string // the host's .git
	ObjectFormat string // the host's extensions.objectformat ("" when unset)
	FileMode     bool   // the host's core.filemode (true when unset)
	// Remotes are the host's remotes with their URLs' userinfo removed:
	// they are only compared with the upstreams, never copied.
	Remotes  []Remote
	Branches []Branch
	// Worktree is the host working tree whose uncommitted changes travel
	// too (nil with --head-only: HEAD alone).
	Worktree *Worktree
}

// Remote is one host remote: its name and its url values, without userinfo.
type Remote struct {
	Name string
	URLs []string
}

// Branch is one host branch's upstream (branch.NAME.remote and .merge).
type Branch struct {
	Name, Remote, Merge string
}

// Size caps for the small host files prepare reads.
const (
	maxConfigSize = 1 << 20
	maxHeadSize   = 4 << 10
)

// ReadRepo checks the host's .git dir and reads its config. It runs no
// command. An error says what is wrong and how to fix it.
func ReadRepo(dir string) (*Repo, error) {
	for _, sub := range []string{"refs", "objects"} {
		if fi, err := os.Lstat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s/%s is not a directory", dir, sub)
		}
	}
	if err := checkAlternates(dir); err != nil {
		return nil, err
	}
	b, err := readSmall(filepath.Join(dir, "config"), maxConfigSize)
	if os.IsNotExist(err) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := parseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s/config: %v", dir, err)
	}
	r, err := repoFromConfig(entries)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	r.Dir = dir
	if _, err := readHead(dir, r.ObjectFormat); err != nil {
		return nil, err
	}
	return r, nil
}

// checkAlternates refuses a repository whose objects live partly in
// another one: those objects would not reach the guest.
func checkAlternates(dir string) error {
	for _, f := range []string{"alternates", "http-alternates"} {
		p := filepath.Join(dir, "objects", "info", f)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: some of the repository's objects live in another repository, "+
				"which does not travel to the guest; copy them in with `git repack -a -d`, then remove %s", p, p)
		}
	}
	return nil
}

// readSmall reads a regular file of at most max bytes (ReadHostFile: a
// FIFO or a device is refused, also one swapped in after the check).
func readSmall(path string, max int64) ([]byte, error) {
	return ReadHostFile(path, max)
}

// repoFromConfig keeps what the generated config may use from the host's.
func repoFromConfig(entries []configEntry) (*Repo, error) {
	r := &Repo{FileMode: true}
	version := 0
	remotes := map[string]int{}
	branches := map[string]int{}
	for _, e := range entries {
		var err error
		switch {
		case e.Section == "core" && e.Subsection == "" && e.Key == "repositoryformatversion":
			version, err = strconv.Atoi(e.Value)
		case e.Section == "core" && e.Subsection == "" && e.Key == "filemode":
			r.FileMode, err = configBool(e)
		case e.Section == "extensions" && e.Subsection == "":
			err = r.extension(e)
		case e.Section == "remote" && e.Subsection != "" && e.Key == "url":
			if _, ok := remotes[e.Subsection]; !ok {
				remotes[e.Subsection] = len(r.Remotes)
				r.Remotes = append(r.Remotes, Remote{Name: e.Subsection})
			}
			rm := &r.Remotes[remotes[e.Subsection]]
			rm.URLs = append(rm.URLs, withoutUserinfo(e.Value))
		case e.Section == "branch" && e.Subsection != "" && (e.Key == "remote" || e.Key == "merge"):
			if _, ok := branches[e.Subsection]; !ok {
				branches[e.Subsection] = len(r.Branches)
				r.Branches = append(r.Branches, Branch{Name: e.Subsection})
			}
			b := &r.Branches[branches[e.Subsection]]
			if e.Key == "remote" {
				b.Remote = e.Value
			} else {
				b.Merge = e.Value
			}
		}
		if err != nil {
			return nil, fmt.Errorf("config %s.%s: %v", e.Section, e.Key, err)
		}
	}
	if version > 1 || version < 0 {
		return nil, fmt.Errorf("core.repositoryformatversion %d: the guest's git 2.39 knows versions 0 and 1", version)
	}
	return r, nil
}

// extension handles one extensions.* key: the object format travels, the
// ones that need something the guest lacks are refused, the harmless ones
// are dropped.
func (r *Repo) extension(e configEntry) error {
	v := strings.ToLower(e.Value)
	switch e.Key {
	case "objectformat":
		if v != "sha1" && v != "sha256" {
			return fmt.Errorf("unknown object format %q", e.Value)
		}
		r.ObjectFormat = v
	case "refstorage":
		if v == "reftable" {
			return fmt.Errorf("the refs are stored in a reftable, which the guest's git 2.39 cannot read; " +
				"convert them with `git refs migrate --ref-format=files`")
		}
		if v != "files" {
			return fmt.Errorf("unknown ref storage %q", e.Value)
		}
	case "partialclone":
		return fmt.Errorf("a partial clone: the objects it has not fetched cannot reach the guest; " +
			"fetch them (remove the filter, then `git fetch --refetch`) or clone without --filter")
	case "worktreeconfig", "preciousobjects", "noop", "noop-v1":
		// Dropped: config.worktree does not travel; the rest changes nothing a checkout needs.
	default:
		return fmt.Errorf("unknown extension %q: the guest's git 2.39 may not support it", e.Key)
	}
	return nil
}

func configBool(e configEntry) (bool, error) {
	if e.NoValue {
		return true, nil
	}
	switch strings.ToLower(e.Value) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", e.Value)
}

// withoutUserinfo removes user names, passwords and tokens from a remote
// URL (https://user:tok@host/…, tok@host:path). A URL that does not parse
// becomes "" and matches nothing.
func withoutUserinfo(raw string) string {
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		u.User = nil
		return u.String()
	}
	host, path, ok := strings.Cut(raw, ":")
	if !ok {
		return raw // a local path
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	return host + ":" + path
}

var (
	hexIDRE = regexp.MustCompile(`^[0-9a-f]+$`)
	// A remote name the generated config can hold unquoted (branch.X.remote)
	// and in a refspec.
	remoteNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// validRefPath is git's check_refname_format for a full ref name: no
// empty component or one starting with '.' or ending in ".lock", no "..",
// no "@{", no control character, space or any of ~^:?*[\, not ending in
// '.', and (here) valid UTF-8.
func validRefPath(s string) bool {
	if s == "" || s == "@" || len(s) > 1024 || !utf8.ValidString(s) || strings.HasSuffix(s, ".") ||
		strings.Contains(s, "..") || strings.Contains(s, "@{") {
		return false
	}
	for _, c := range strings.Split(s, "/") {
		if c == "" || strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return false
		}
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) })
}

func validRemoteName(s string) bool {
	return remoteNameRE.MatchString(s) && !strings.Contains(s, "..") &&
		!strings.HasSuffix(s, ".lock") && !strings.HasSuffix(s, ".")
}

// readHead reads and checks the host's HEAD: "ref: refs/…" or an object id
// of the repository's format. It is the HEAD line the guest gets.
func readHead(dir, objectFormat string) (string, error) {
	p := filepath.Join(dir, "HEAD")
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	b, err := readSmall(p, maxHeadSize)
	if err != nil {
		return "", err
	}
	head := strings.TrimSuffix(string(b), "\n")
	if ref, ok := strings.CutPrefix(head, "ref:"); ok {
		ref = strings.TrimLeft(ref, " \t")
		if !strings.HasPrefix(ref, "refs/") || !validRefPath(ref) {
			return "", fmt.Errorf("%s: not a ref git can check out: %q", p, ref)
		}
		return "ref: " + ref + "\n", nil
	}
	want := 40
	if objectFormat == "sha256" {
		want = 64
	}
	if len(head) != want || !hexIDRE.MatchString(head) {
		return "", fmt.Errorf("%s: neither \"ref: refs/…\" nor a %d-digit object id", p, want)
	}
	return head + "\n", nil
}

// RenderRepoConfig renders the guest's .git/config: core settings, the
// object format, the remotes and the branches that track them. A host
// remote whose URL names the same repository as an upstream is kept under
// its name, with the upstream's URL (the guest's ~/.gitconfig sends it to
// the gate); an upstream no host remote names is added under its own name
// when that is free. No value of the host's is copied unless it passed a
// check: a remote or branch name, a merge ref, a boolean, an object format.
func RenderRepoConfig(r Repo, ups []Upstream) []byte {
	var b strings.Builder
	b.WriteString("# generated by claude-bottle: not the host's config (see README, --cwd)\n")
	version := 0
	if r.ObjectFormat != "" {
		version = 1
	}
	fmt.Fprintf(&b, "[core]\n\trepositoryformatversion = %d\n\tfilemode = %t\n\tbare = false\n\tlogallrefupdates = true\n",
		version, r.FileMode)
	if r.ObjectFormat != "" {
		b.WriteString("[extensions]\n\tobjectformat = " + r.ObjectFormat + "\n")
	}
	remotes, hostKept := guestRemotes(r, ups)
	for _, rm := range remotes {
		fmt.Fprintf(&b, "[remote %s]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/%s/*\n",
			quoteConfigValue(rm.Name), quoteConfigValue(rm.URL), rm.Name)
	}
	for _, br := range r.Branches {
		ref, ok := strings.CutPrefix(br.Merge, "refs/heads/")
		if !hostKept[br.Remote] || !validRefPath(br.Name) || !ok || !validRefPath(ref) {
			continue
		}
		fmt.Fprintf(&b, "[branch %s]\n\tremote = %s\n\tmerge = %s\n", quoteConfigValue(br.Name), br.Remote, quoteConfigValue(br.Merge))
	}
	return []byte(b.String())
}

// guestRemotes are the remotes of the guest's config, and which host
// remotes were kept.
func guestRemotes(r Repo, ups []Upstream) ([]Upstream, map[string]bool) {
	var out []Upstream
	taken, hostKept, matched := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, rm := range r.Remotes {
		if !validRemoteName(rm.Name) || taken[rm.Name] {
			continue
		}
		if u, ok := sameRepository(rm.URLs, ups); ok {
			out = append(out, Upstream{Name: rm.Name, URL: u.URL})
			taken[rm.Name], hostKept[rm.Name], matched[u.Name] = true, true, true
		}
	}
	for _, u := range ups {
		if !matched[u.Name] && !taken[u.Name] {
			out = append(out, u)
			taken[u.Name] = true
		}
	}
	return out, hostKept
}

// sameRepository finds the first upstream that one of urls names: some
// spelling of the URL (URLForms) is a spelling of the upstream's.
func sameRepository(urls []string, ups []Upstream) (Upstream, bool) {
	for _, u := range ups {
		forms := map[string]bool{}
		for _, f := range URLForms(u.URL) {
			forms[f] = true
		}
		for _, raw := range urls {
			if raw == "" {
				continue
			}
			for _, f := range URLForms(raw) {
				if forms[f] {
					return u, true
				}
			}
		}
	}
	return Upstream{}, false
}

// quoteConfigValue writes s double-quoted, as a value or a subsection
// name, so that no character of it (#, ;, a quote, a backslash) changes
// what git reads. Subsections take the same \" and \\ escapes; the names
// it quotes hold no control character.
func quoteConfigValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// gitDirNote says in the dry-run what of the host's .git travels.
const gitDirNote = "HEAD, refs/, packed-refs, objects/, shallow (regular files, modes kept) and a generated config; " +
	"not the host's config, hooks/, info/, logs/, worktrees/, modules/, lfs/, the index or any symlink"

// writeGitDir writes the guest's .git (f.Path) from the host's (f.Source):
// the generated config (f.Content), HEAD checked again, then refs/,
// objects/, packed-refs and shallow. Symlinks and special files are left
// out.
func writeGitDir(tw *tar.Writer, f File) error {
	if err := tw.WriteHeader(header(f.Path+"/", tar.TypeDir, f.Owner, f.Mode, 0)); err != nil {
		return err
	}
	if err := writeContent(tw, f.Path+"/config", f.Owner, 0o644, f.Content); err != nil {
		return err
	}
	head, err := readHead(f.Source, f.Git.ObjectFormat)
	if err != nil {
		return err
	}
	if err := writeContent(tw, f.Path+"/HEAD", f.Owner, 0o644, []byte(head)); err != nil {
		return err
	}
	if err := checkAlternates(f.Source); err != nil {
		return err
	}
	for _, sub := range []string{"refs", "objects"} {
		if err := writeTree(tw, filepath.Join(f.Source, sub), f.Path+"/"+sub, f.Owner, false); err != nil {
			return err
		}
	}
	for _, name := range []string{"packed-refs", "shallow"} {
		p := filepath.Join(f.Source, name)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // absent, or not a regular file: not copied
		}
		if err := copyFile(tw, p, f.Path+"/"+name, f.Owner); err != nil {
			return err
		}
	}
	return nil
}

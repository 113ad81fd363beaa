package provision

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// secret marks every poisoned value: it must appear nowhere in the archive.
const secret = "S3CRET"

var upstreams = []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"}}

// git runs real git in dir with no global or system config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func needGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
}

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// poisonedRepo makes a host repository (git init --shared=group: setgid
// directories) whose .git holds a secret everywhere a secret can hide:
// what actions/checkout leaves, tokens in remote URLs, credential helpers,
// includes, url rewrites, hooks, info/, a linked worktree's admin files,
// logs, FETCH_HEAD and friends, symlinks. It returns the worktree and HEAD.
func poisonedRepo(t *testing.T, format string) (string, string) {
	needGit(t)
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	git(t, root, "init", "-q", "-b", "main", "--shared=group", "--object-format="+format, dir)
	write(t, filepath.Join(dir, "README"), "app\n", 0o644)
	write(t, filepath.Join(dir, "bin", "run"), "#!/bin/sh\necho run\n", 0o755)
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "init")
	git(t, dir, "tag", "v1")
	git(t, dir, "pack-refs", "--all") // packed-refs, and objects for the pack below
	git(t, dir, "gc", "-q")
	write(t, filepath.Join(dir, "README"), "app 2\n", 0o644)
	git(t, dir, "commit", "-q", "-am", "second")
	git(t, dir, "branch", "dev")
	git(t, dir, "worktree", "add", "-q", filepath.Join(root, "wt"), "dev")
	for _, kv := range [][2]string{
		{"http.https://github.com/.extraheader", "AUTHORIZATION: basic " + secret + "-extraheader"},
		{"remote.origin.url", "https://x-access-token:" + secret + "-origin@github.com/acme/app"},
		{"remote.origin.pushurl", "https://" + secret + "-push@github.com/acme/app.git"},
		{"remote.origin.fetch", "+refs/heads/*:refs/" + secret + "/*"},
		{"remote.fork.url", "https://u:" + secret + "-fork@github.com/someone/app.git"},
		{"branch.main.remote", "origin"},
		{"branch.main.merge", "refs/heads/main"},
		{"branch.main.pushremote", secret},
		{"branch.dev.remote", "fork"},
		{"branch.dev.merge", "refs/heads/dev"},
		{"credential.helper", "store --file=/tmp/" + secret + "-cred"},
		{"credential.https://github.com.username", secret + "-user"},
		{"include.path", "/tmp/" + secret + "-include"},
		{"includeIf.gitdir:/.path", "/tmp/" + secret + "-includeif"},
		{"url.https://" + secret + "-url@github.com/.insteadOf", "https://github.com/"},
		{"user.email", secret + "@example.com"},
		{"core.hooksPath", "/tmp/" + secret + "-hooks"},
		{"core.sshCommand", "ssh -i /tmp/" + secret + "-key"},
		{"core.fsmonitor", "/tmp/" + secret + "-fsmonitor"},
		{"filter.x.clean", secret + "-clean"},
		{"diff.x.textconv", secret + "-textconv"},
	} {
		git(t, dir, "config", kv[0], kv[1])
	}
	gd := filepath.Join(dir, ".git")
	write(t, filepath.Join(gd, "worktrees", "wt", "config.worktree"), "[http]\nextraheader = "+secret+"-wt\n", 0o644)
	write(t, filepath.Join(gd, "hooks", "post-checkout"), "#!/bin/sh\necho "+secret+"-hook\n", 0o755)
	write(t, filepath.Join(gd, "info", "exclude"), secret+"-exclude\n", 0o644)
	write(t, filepath.Join(gd, "config.worktree"), "[credential]\nhelper = "+secret+"-cw\n", 0o644)
	for _, f := range []string{"FETCH_HEAD", "ORIG_HEAD", "COMMIT_EDITMSG", "description",
		"modules/sub/config", "lfs/objects/x", "logs/" + secret} {
		write(t, filepath.Join(gd, f), secret+"-"+f+"\n", 0o644)
	}
	secretFile := filepath.Join(root, secret+"-target")
	write(t, secretFile, secret+"-behind-a-link\n", 0o644)
	for _, l := range []string{"refs/heads/link", "objects/link", "shallow"} {
		if err := os.Symlink(secretFile, filepath.Join(gd, l)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, git(t, dir, "rev-parse", "HEAD")
}

// archived reads back the guest's .git entries of the archive for repo.
func archived(t *testing.T, repo *Repo, ups []Upstream) (map[string]*tar.Header, map[string][]byte, []byte) {
	t.Helper()
	raw, err := io.ReadAll(Archive(Files(Inputs{Repo: repo}, Live{CA: []byte("CERT"), CAKind: CAPipelock, Upstreams: ups})))
	if err != nil {
		t.Fatal(err)
	}
	hdrs, bodies := map[string]*tar.Header{}, map[string][]byte{}
	for _, e := range readEntries(t, bytes.NewReader(raw)) {
		hdrs[e.Name], bodies[e.Name] = e.Header, e.body
	}
	return hdrs, bodies, raw
}

const gitPrefix = "home/node/workspace/.git/"

// TestGitDirCarriesNoSecret: of a poisoned host .git only HEAD, refs/,
// packed-refs, objects/ and a generated config travel, and no secret.
func TestGitDirCarriesNoSecret(t *testing.T) {
	dir, _ := poisonedRepo(t, "sha1")
	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	hdrs, bodies, raw := archived(t, repo, upstreams)
	if bytes.Contains(raw, []byte(secret)) {
		for name, b := range bodies {
			if strings.Contains(name+hdrs[name].Linkname+string(b), secret) {
				t.Errorf("the archive carries a secret in %s", name)
			}
		}
		t.Errorf("the archive carries a secret")
	}
	for name, h := range hdrs {
		rel, ok := strings.CutPrefix(name, gitPrefix)
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		switch {
		case h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir:
			t.Errorf("%s: type %q travels, want regular files and directories only", name, h.Typeflag)
		case rel == "" || rel == "config" || rel == "HEAD" || rel == "packed-refs" || top == "refs" || top == "objects":
		default:
			t.Errorf("%s travels", name)
		}
		if h.Uid != Agent.UID || h.Mode&0o4000 != 0 {
			t.Errorf("%s: uid %d mode %04o", name, h.Uid, h.Mode)
		}
	}
	for _, want := range []string{gitPrefix, gitPrefix + "config", gitPrefix + "HEAD", gitPrefix + "packed-refs",
		gitPrefix + "refs/heads/main", gitPrefix + "refs/heads/dev", gitPrefix + "objects/"} {
		if hdrs[want] == nil {
			t.Errorf("%s is missing", want)
		}
	}
	if h := hdrs[gitPrefix+"objects/"]; h != nil && h.Mode&0o2000 == 0 {
		t.Errorf("objects/ lost its setgid bit (--shared=group): %04o", h.Mode)
	}
}

// TestGitDirConfig: the generated config parses with git and holds exactly
// the allowed keys, the kept remote pointing at the upstream's URL.
func TestGitDirConfig(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		dir, _ := poisonedRepo(t, format)
		repo, err := ReadRepo(filepath.Join(dir, ".git"))
		if err != nil {
			t.Fatal(err)
		}
		_, bodies, _ := archived(t, repo, upstreams)
		cfg := filepath.Join(t.TempDir(), "config")
		write(t, cfg, string(bodies[gitPrefix+"config"]), 0o644)
		got := strings.Split(git(t, filepath.Dir(cfg), "config", "--file", cfg, "--list"), "\n")
		want := []string{"core.repositoryformatversion=0", "core.filemode=true", "core.bare=false",
			"core.logallrefupdates=true",
			"remote.origin.url=https://github.com/acme/app.git", "remote.origin.fetch=+refs/heads/*:refs/remotes/origin/*",
			"branch.main.remote=origin", "branch.main.merge=refs/heads/main"}
		if format == "sha256" {
			want[0] = "core.repositoryformatversion=1"
			want = append(want[:4], append([]string{"extensions.objectformat=sha256"}, want[4:]...)...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the guest's config lists\n%s\nwant\n%s", format, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// extract writes the archive's guest .git under dst/.git as tar would.
func extract(t *testing.T, hdrs map[string]*tar.Header, bodies map[string][]byte, dst string) {
	t.Helper()
	var names []string
	for n := range hdrs {
		if strings.HasPrefix(n, gitPrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names) // parents first
	for _, n := range names {
		p := filepath.Join(dst, ".git", strings.TrimPrefix(n, gitPrefix))
		h := hdrs[n]
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			write(t, p, string(bodies[n]), fs.FileMode(h.Mode).Perm())
		default:
			t.Fatalf("%s: type %q", n, h.Typeflag)
		}
	}
}

// TestGitDirChecksOut: git reset --hard in an extracted copy reproduces
// the host's HEAD and files, for sha1 and sha256 repositories.
func TestGitDirChecksOut(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		dir, head := poisonedRepo(t, format)
		repo, err := ReadRepo(filepath.Join(dir, ".git"))
		if err != nil {
			t.Fatal(err)
		}
		hdrs, bodies, _ := archived(t, repo, upstreams)
		ws := filepath.Join(t.TempDir(), "workspace")
		extract(t, hdrs, bodies, ws)
		git(t, ws, "reset", "--hard", "--quiet")
		if got := git(t, ws, "rev-parse", "HEAD"); got != head {
			t.Errorf("%s: HEAD %s, host %s", format, got, head)
		}
		if got := git(t, ws, "rev-parse", "--abbrev-ref", "HEAD", "v1", "dev"); !strings.HasPrefix(got, "main\n") {
			t.Errorf("%s: branch, tag and dev resolve to %q", format, got)
		}
		if b, _ := os.ReadFile(filepath.Join(ws, "README")); string(b) != "app 2\n" {
			t.Errorf("%s: README %q", format, b)
		}
		if fi, err := os.Stat(filepath.Join(ws, "bin", "run")); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: bin/run lost its mode: %v %v", format, fi, err)
		}
		if st := git(t, ws, "status", "--porcelain"); st != "" {
			t.Errorf("%s: not clean:\n%s", format, st)
		}
		git(t, ws, "fsck", "--no-dangling")
		if got := git(t, ws, "config", "--get", "branch.main.remote"); got != "origin" {
			t.Errorf("%s: main tracks %q", format, got)
		}
	}
}

func TestGitDirNote(t *testing.T) {
	dir, _ := poisonedRepo(t, "sha1")
	repo, err := ReadRepo(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	notes := Notes(Files(Inputs{Repo: repo}, Live{CAKind: CAPipelock, Upstreams: upstreams}))
	var gitLines []string
	for _, n := range notes {
		if strings.Contains(n, "/workspace/.git") {
			gitLines = append(gitLines, n)
		}
	}
	want := "node 0755 /home/node/workspace/.git/ <- " + repo.Dir + ": " + gitDirNote
	if len(gitLines) != 1 || gitLines[0] != want {
		t.Errorf(".git note lines %q, want one: %q", gitLines, want)
	}
	if all := strings.Join(notes, "\n"); !strings.Contains(all, "    [remote \"origin\"]") || strings.Contains(all, secret) {
		t.Errorf("notes:\n%s", all)
	}
}

// TestReadRepoRefuses: what cannot make a working guest repository, or
// would need the host to, is refused at prepare with a way out.
func TestReadRepoRefuses(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(gd string)
		want  string
	}{
		{"alternates", func(gd string) { write(t, filepath.Join(gd, "objects/info/alternates"), "/srv/other/objects\n", 0o644) },
			"git repack -a -d"},
		{"http-alternates", func(gd string) { write(t, filepath.Join(gd, "objects/info/http-alternates"), "https://x\n", 0o644) },
			"git repack -a -d"},
		{"reftable", func(gd string) {
			appendConfig(t, gd, "[core]\nrepositoryformatversion = 1\n[extensions]\nrefStorage = reftable\n")
		},
			"git refs migrate --ref-format=files"},
		{"partial clone", func(gd string) { appendConfig(t, gd, "[extensions]\npartialClone = origin\n") }, "git fetch --refetch"},
		{"unknown extension", func(gd string) { appendConfig(t, gd, "[extensions]\nfrobnicate = yes\n") }, "frobnicate"},
		{"format version 2", func(gd string) { appendConfig(t, gd, "[core]\nrepositoryformatversion = 2\n") }, "versions 0 and 1"},
		{"bad config", func(gd string) { appendConfig(t, gd, "[remote \"x\nurl = y\n") }, "config: line"},
		{"HEAD outside refs/", func(gd string) { write(t, filepath.Join(gd, "HEAD"), "ref: ../../etc/passwd\n", 0o644) }, "not a ref"},
		{"HEAD with a bad ref", func(gd string) { write(t, filepath.Join(gd, "HEAD"), "ref: refs/heads/a..b\n", 0o644) }, "not a ref"},
		{"HEAD junk", func(gd string) { write(t, filepath.Join(gd, "HEAD"), "[credential]\n", 0o644) }, "object id"},
		{"HEAD a sha256 id in a sha1 repo", func(gd string) { write(t, filepath.Join(gd, "HEAD"), strings.Repeat("a", 64)+"\n", 0o644) }, "40-digit"},
		{"HEAD a symlink", func(gd string) {
			os.Remove(filepath.Join(gd, "HEAD"))
			os.Symlink("refs/heads/main", filepath.Join(gd, "HEAD"))
		}, "not a regular file"},
		{"objects a symlink", func(gd string) {
			os.Rename(filepath.Join(gd, "objects"), gd+"-objects")
			os.Symlink(gd+"-objects", filepath.Join(gd, "objects"))
		}, "not a directory"},
		{"config a FIFO", func(gd string) {
			os.Remove(filepath.Join(gd, "config"))
			syscall.Mkfifo(filepath.Join(gd, "config"), 0o644)
		}, "not a regular file"},
	}
	for _, c := range cases {
		needGit(t)
		dir := filepath.Join(t.TempDir(), "r")
		git(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
		gd := filepath.Join(dir, ".git")
		c.spoil(gd)
		_, err := ReadRepo(gd)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one that says %q", c.name, err, c.want)
		}
	}
}

func appendConfig(t *testing.T, gd, s string) {
	f, err := os.OpenFile(filepath.Join(gd, "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(s)
}

// TestRepoConfigRemotes: which host remotes the guest's config keeps, under
// which name and URL, and which branches keep their upstream.
func TestRepoConfigRemotes(t *testing.T) {
	ups := []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"},
		{Name: "lib", URL: "git@github.com:acme/lib.git"}, {Name: "docs", URL: "https://gitlab.com/acme/docs"}}
	cfg := `[remote "gh"]
	url = https://user:` + secret + `@github.com/acme/app
[remote "libfork"]
	url = ` + secret + `@github.com:acme/lib.git
[remote "docs"]
	url = https://github.com/someone/docs.git
[remote "bad name"]
	url = https://github.com/acme/app.git
[remote "q\"uote"]
	url = https://github.com/acme/app.git
[remote "ssh"]
	url = ssh://deploy@github.com/acme/lib
[remote "other"]
	url = https://github.com/acme/app2.git
[branch "main"]
	remote = gh
	merge = refs/heads/main
[branch "lib"]
	remote = libfork
	merge = refs/tags/v1
[branch "d"]
	remote = docs
	merge = refs/heads/main
[branch "x y"]
	remote = gh
	merge = refs/heads/main
[branch "feature/a"]
	remote = ssh
	merge = refs/heads/feature/a
[branch "fix-ü#\";x"]
	remote = gh
	merge = "refs/heads/fix-ü#\";x"
[branch "evil"]
	remote = gh
	merge = "refs/heads/x\n[credential]\nhelper = !sh"
[branch "evil2"]
	remote = "gh\n[core]"
	merge = refs/heads/main
`
	entries, err := parseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repoFromConfig(entries)
	if err != nil {
		t.Fatal(err)
	}
	out := string(RenderRepoConfig(*r, ups))
	if strings.Contains(out, secret) {
		t.Errorf("a secret in the config:\n%s", out)
	}
	p := filepath.Join(t.TempDir(), "config")
	write(t, p, out, 0o644)
	needGit(t)
	got := git(t, filepath.Dir(p), "config", "--file", p, "--get-regexp", `^(remote|branch)\.`)
	// origin and lib are named by host remotes (gh; libfork and ssh); the
	// host's "docs" names another repository and is dropped, so the
	// upstream docs is added under its free name.
	want := `remote.gh.url https://github.com/acme/app.git
remote.gh.fetch +refs/heads/*:refs/remotes/gh/*
remote.libfork.url git@github.com:acme/lib.git
remote.libfork.fetch +refs/heads/*:refs/remotes/libfork/*
remote.ssh.url git@github.com:acme/lib.git
remote.ssh.fetch +refs/heads/*:refs/remotes/ssh/*
remote.docs.url https://gitlab.com/acme/docs
remote.docs.fetch +refs/heads/*:refs/remotes/docs/*
branch.main.remote gh
branch.main.merge refs/heads/main
branch.feature/a.remote ssh
branch.feature/a.merge refs/heads/feature/a
branch.fix-ü#";x.remote gh
branch.fix-ü#";x.merge refs/heads/fix-ü#";x`
	if got != want {
		t.Errorf("remotes and branches:\n%s\nwant\n%s", got, want)
	}
}

// TestRepoConfigNameTaken: an upstream whose name a kept host remote holds
// is not added a second time.
func TestRepoConfigNameTaken(t *testing.T) {
	r := Repo{FileMode: false, Remotes: []Remote{{Name: "lib", URLs: []string{"https://github.com/acme/app.git"}}}}
	out := string(RenderRepoConfig(r, []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"},
		{Name: "lib", URL: "https://github.com/acme/lib.git"}}))
	if strings.Count(out, "[remote ") != 1 || !strings.Contains(out, "filemode = false") {
		t.Errorf("config:\n%s", out)
	}
}

func TestWithoutUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@github.com/acme/app": "https://github.com/acme/app",
		"https://tok@github.com/acme/app.git":  "https://github.com/acme/app.git",
		"ssh://git@host:22/srv/app.git":        "ssh://host:22/srv/app.git",
		"tok@github.com:acme/app.git":          "github.com:acme/app.git",
		"/srv/app.git":                         "/srv/app.git",
		"https://[bad":                         "",
	} {
		if got := withoutUserinfo(in); got != want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidRefPath(t *testing.T) {
	for _, ok := range []string{"refs/heads/main", "refs/heads/feature/a", "refs/heads/fix-\u00fc#\";x", "refs/tags/v1.0"} {
		if !validRefPath(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "@", "refs/heads/a..b", "refs/heads/.x", "refs/heads/x.lock", "refs/heads/x y",
		"refs/heads/x\n", "refs//x", "refs/heads/x/", "refs/heads/x.", "refs/heads/a@{1}", "refs/heads/a\\b",
		"refs/heads/a:b", "refs/heads/a~1", "refs/heads/a^", "refs/heads/a*", "refs/heads/a?", "refs/heads/a[", "refs/heads/\xff"} {
		if validRefPath(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

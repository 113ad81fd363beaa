package job

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// world is a host repository and a guest workspace cloned from it, on
// local disk; the guest's commands run locally through localGuest.
type world struct {
	t            *testing.T
	dir          string
	host, guest  string
	base         string   // the host's HEAD when the guest was made
	env          []string // the host's and the tests' environment
	guestEnv     []string
	hostProbe    string // a file only a command run by the host could create
	guestProbeDr string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	w := &world{t: t, dir: dir, host: filepath.Join(dir, "host"), guest: filepath.Join(dir, "guest"),
		hostProbe: filepath.Join(dir, "host-probe"), guestProbeDr: filepath.Join(dir, "guest-probes")}
	base := []string{"PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	w.env = append(slices.Clone(base), "HOME="+filepath.Join(dir, "home"), "PROBE="+w.hostProbe)
	w.guestEnv = append(slices.Clone(base), "HOME="+filepath.Join(dir, "guest-home"), "PROBE="+filepath.Join(w.guestProbeDr, "probe"))
	must(t, os.MkdirAll(w.guestProbeDr, 0o755))
	w.git(dir, "init", "-q", "-b", "main", w.host)
	for i, f := range []string{"a", "b", "c"} {
		w.write(w.host, f, strings.Repeat(f, i+1)+"\n")
		w.git(w.host, "add", f)
		w.git(w.host, "commit", "-q", "-m", "commit "+f)
	}
	w.write(w.host, ".gitignore", "secret.env\n")
	w.git(w.host, "add", ".gitignore")
	w.git(w.host, "commit", "-q", "-m", "ignore")
	w.base = w.git(w.host, "rev-parse", "HEAD")
	// What the launch does: the guest starts from the host's commits.
	w.git(dir, "clone", "-q", "--no-local", w.host, w.guest)
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// git runs git in dir with the world's environment and returns its output.
func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	out, err := w.gitErr(dir, args...)
	if err != nil {
		w.t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (w *world) gitErr(dir string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = w.env, &out, &errb
	if err := cmd.Run(); err != nil {
		return "", errors.New(err.Error() + ": " + errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (w *world) write(dir, name, content string) {
	w.t.Helper()
	p := filepath.Join(dir, name)
	must(w.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(w.t, os.WriteFile(p, []byte(content), 0o644))
}

// bottle is the bottle whose guest is the world's.
func (w *world) bottle() Bottle {
	return Bottle{Name: "demo", Backend: Docker, Agent: "claude-bottle-demo-agent", Repo: w.host, Base: w.base}
}

// runner runs the host's commands for real and the guest's locally:
// guestScript in the guest workspace, or (answer) bytes of the test's.
func (w *world) runner(answer func(io.Writer) error) *localGuest {
	return &localGuest{host: &shell.Exec{Env: w.env, Grace: time.Second}, guestExec: &shell.Exec{Env: w.guestEnv, Grace: time.Second},
		workspace: w.guest, answer: answer}
}

func (w *world) fetch(r shell.Runner, o Options) (*Result, error) {
	return Fetch(context.Background(), r, w.bottle(), o)
}

// localGuest is a Runner standing in for docker: `docker exec … sh -c
// SCRIPT NAME WORKSPACE ARGS…` runs SCRIPT locally on the test's workspace
// (or the test's command, or its answer); every other command runs as is.
type localGuest struct {
	host, guestExec *shell.Exec
	workspace       string
	answer          func(io.Writer) error
	command         []string // run instead of the script
	calls           [][]string
}

func (l *localGuest) Run(ctx context.Context, c shell.Cmd) error {
	l.calls = append(l.calls, c.Argv)
	if c.Argv[0] != "docker" {
		return l.host.Run(ctx, c)
	}
	i := slices.Index(c.Argv, "sh")
	if i < 0 || c.Argv[i+1] != "-c" || c.Argv[i+4] != provision.Workspace {
		return &shell.Error{Argv: c.Argv, ExitCode: 2, Stderr: "localGuest: unexpected " + shell.Join(c.Argv)}
	}
	if l.answer != nil {
		if err := l.answer(c.Stdout); err != nil {
			return &shell.Error{Argv: c.Argv, ExitCode: -1, Err: err}
		}
		return nil
	}
	argv := slices.Clone(c.Argv[i:])
	argv[4] = l.workspace
	if l.command != nil {
		argv = l.command
	}
	return l.guestExec.Run(ctx, shell.Cmd{Argv: argv, Stdout: c.Stdout, Stderr: c.Stderr})
}

// guestCalls counts the commands sent to the guest.
func (l *localGuest) guestCalls() int {
	n := 0
	for _, c := range l.calls {
		if c[0] == "docker" {
			n++
		}
	}
	return n
}

// hostState is everything of the host repository a fetch must not change,
// besides the bottle's tracking refs.
func (w *world) hostState() string {
	w.t.Helper()
	var b strings.Builder
	for _, ref := range strings.Split(w.git(w.host, "for-each-ref", "--format=%(objectname) %(refname)"), "\n") {
		if !strings.Contains(ref, " refs/remotes/bottle/") {
			b.WriteString(ref + "\n")
		}
	}
	for _, f := range []string{"HEAD", "index", "config", "packed-refs", "FETCH_HEAD"} {
		data, _ := os.ReadFile(filepath.Join(w.host, ".git", f))
		b.WriteString(f + ": " + string(data) + "\n")
	}
	b.WriteString("status: " + w.git(w.host, "status", "--porcelain", "--ignored", "--untracked-files=all") + "\n")
	b.WriteString("stash: " + w.git(w.host, "stash", "list") + "\n")
	b.WriteString("remotes: " + w.git(w.host, "remote", "-v") + "\n")
	return b.String()
}

// guestState is what the guest's script must leave as it was.
func (w *world) guestState() string {
	w.t.Helper()
	idx, _ := os.ReadFile(filepath.Join(w.guest, ".git", "index"))
	return w.git(w.guest, "for-each-ref") + "\n" + w.git(w.guest, "status", "--porcelain", "--untracked-files=all") + "\n" + string(idx)
}

// tracking returns the bottle's tracking refs on the host: short name -> id.
func (w *world) tracking() map[string]string {
	w.t.Helper()
	m := map[string]string{}
	out := w.git(w.host, "for-each-ref", "--format=%(objectname) %(refname)", TrackingPrefix("demo"))
	for _, l := range strings.Split(out, "\n") {
		if oid, ref, ok := strings.Cut(l, " "); ok {
			m[strings.TrimPrefix(ref, TrackingPrefix("demo"))] = oid
		}
	}
	return m
}

// pack is a pack of revs (rev-list arguments, ^ to exclude) from repo.
func (w *world) pack(repo string, revs ...string) []byte {
	w.t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("git", "-C", repo, "pack-objects", "--stdout", "--revs", "--thin", "-q")
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = w.env, strings.NewReader(strings.Join(revs, "\n")+"\n"), &out, &errb
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("pack-objects: %v: %s", err, errb.String())
	}
	return out.Bytes()
}

// mkBundle is a v2 bundle of the header lines (prerequisites and refs) and pack.
func mkBundle(lines []string, pack []byte) []byte {
	return append([]byte("# v2 git bundle\n"+strings.Join(lines, "\n")+"\n\n"), pack...)
}

// send answers the guest's command with data.
func send(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// hexBytes decodes an object id.
func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	must(t, err)
	return b
}

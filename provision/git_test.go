package provision

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestURLForms(t *testing.T) {
	cases := map[string][]string{
		"https://github.com/acme/app.git": {"https://github.com/acme/app.git", "https://github.com/acme/app",
			"git@github.com:acme/app.git", "ssh://git@github.com/acme/app.git"},
		"git@github.com:acme/app.git": {"git@github.com:acme/app.git", "https://github.com/acme/app.git",
			"https://github.com/acme/app", "ssh://git@github.com/acme/app.git"},
		"ssh://deploy@git.example:2222/srv/app": {"ssh://deploy@git.example:2222/srv/app", "https://git.example/srv/app.git",
			"https://git.example/srv/app", "deploy@git.example:srv/app.git", "ssh://deploy@git.example/srv/app.git"},
	}
	for in, want := range cases {
		if got := URLForms(in); !reflect.DeepEqual(got, want) {
			t.Errorf("URLForms(%q) =\n%q\nwant\n%q", in, got, want)
		}
	}
}

// rewrite asks real git what a URL becomes under a gitconfig.
func rewrite(t *testing.T, gitconfig []byte, url string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(cfg, gitconfig, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-remote", "--get-url", url)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+cfg, "GIT_CONFIG_NOSYSTEM=1")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-remote --get-url %s: %v", url, err)
	}
	return strings.TrimSpace(string(out))
}

func TestGitconfigWithRealGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for _, gate := range []string{"git://git-gate", "git://127.0.0.1:49418"} {
		cfg := RenderGitconfig(gate, testSecret, []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"}})
		for _, u := range []string{"https://github.com/acme/app.git", "https://github.com/acme/app",
			"git@github.com:acme/app.git", "ssh://git@github.com/acme/app.git"} {
			if got := rewrite(t, cfg, u); got != gate+"/"+testSecret+"/origin.git" {
				t.Errorf("gate %s: %s rewritten to %s, want %s/%s/origin.git", gate, u, got, gate, testSecret)
			}
		}
		// Unrelated remotes are left alone.
		for _, u := range []string{"https://github.com/acme/other.git", "https://gitlab.com/acme/app.git"} {
			if got := rewrite(t, cfg, u); got != u {
				t.Errorf("%s rewritten to %s", u, got)
			}
		}
	}
}

// TestGitconfigPrefixTrap: insteadOf is a raw prefix match.
func TestGitconfigPrefixTrap(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	// The rule for …/acme/app.git does not rewrite …/acme/app2.git.
	exact := []byte("[url \"git://git-gate/origin.git\"]\n\tinsteadOf = https://github.com/acme/app.git\n")
	if got := rewrite(t, exact, "https://github.com/acme/app2.git"); got != "https://github.com/acme/app2.git" {
		t.Errorf("the .git rule rewrote app2.git to %s", got)
	}
	// With both upstreams declared, each goes to its own repository.
	gate := "git://git-gate/" + testSecret + "/"
	both := RenderGitconfig("git://git-gate", testSecret, []Upstream{{Name: "app", URL: "https://github.com/acme/app.git"}, {Name: "app2", URL: "https://github.com/acme/app2.git"}})
	if got := rewrite(t, both, "https://github.com/acme/app2.git"); got != gate+"app2.git" {
		t.Errorf("app2.git went to %s", got)
	}
	if got := rewrite(t, both, "https://github.com/acme/app.git"); got != gate+"app.git" {
		t.Errorf("app.git went to %s", got)
	}
	// An undeclared app2.git caught by the spelling without .git lands on a
	// path no upstream can have (names hold no '.'): the gate refuses it.
	one := RenderGitconfig("git://git-gate", testSecret, []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"}})
	got := rewrite(t, one, "https://github.com/acme/app2.git")
	if got != "https://github.com/acme/app2.git" && !strings.HasPrefix(got, gate+"origin.git") {
		t.Fatalf("app2.git went to %s", got)
	}
	if repo := strings.TrimPrefix(got, gate); repo != got && !strings.Contains(strings.TrimSuffix(repo, ".git"), ".") {
		t.Errorf("undeclared app2.git reached a servable gate path %s", got)
	}
}

// testSecret stands for a bottle's secret.
const testSecret = "00112233445566778899aabbccddeeff"

// TestSecretNeverShown: the gitconfig carries the bottle's secret in the
// gate's URLs and supervise's URL file carries it too, but what the dry-run
// and the debug log show of the archive (Notes) has the placeholder, and
// the registration's argv never holds it: argvs are what other users of
// the host see.
func TestSecretNeverShown(t *testing.T) {
	live := Live{CA: []byte("C"), CAKind: CAPipelock, GateHost: "git://127.0.0.1:49418", Secret: testSecret,
		Upstreams: []Upstream{{Name: "origin", URL: "https://github.com/acme/app.git"}}, SuperviseURL: "http://127.0.0.1:49100/"}
	files := Files(Inputs{Supervise: true}, live)
	var gitconfig, url []byte
	for _, f := range files {
		switch f.Path {
		case Gitconfig:
			gitconfig = f.Content
		case SuperviseURLPath:
			url = f.Content
			if f.Mode != 0o600 || f.Owner != Agent || f.Show {
				t.Errorf("supervise URL file: %+v", f)
			}
		}
	}
	if !strings.Contains(string(gitconfig), `[url "git://127.0.0.1:49418/`+testSecret+`/origin.git"]`) {
		t.Errorf("gitconfig:\n%s", gitconfig)
	}
	if string(url) != "http://127.0.0.1:49100/"+testSecret+"/\n" {
		t.Errorf("supervise URL file: %q", url)
	}
	notes := strings.Join(Notes(files), "\n")
	if strings.Contains(notes, testSecret) || !strings.Contains(notes, `[url "git://127.0.0.1:49418/<bottle-secret>/origin.git"]`) {
		t.Errorf("the notes show:\n%s", notes)
	}
	if argv := strings.Join(registerArgv(), " "); strings.Contains(argv, testSecret) || !strings.Contains(argv, SuperviseURLPath) {
		t.Errorf("registration argv: %s", argv)
	}
}

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

func TestSSHCommand(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"", "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/etc/kh' -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3"},
		{"/etc/claude-bottle/credentials/app", "ssh -i '/etc/claude-bottle/credentials/app' -o IdentitiesOnly=yes " +
			"-o StrictHostKeyChecking=yes -o UserKnownHostsFile='/etc/kh' -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3"},
	} {
		if got := sshCommand(tc.key, "/etc/kh"); got != tc.want {
			t.Errorf("sshCommand(%q) =\n%s\nwant\n%s", tc.key, got, tc.want)
		}
	}
}

func TestUpstreamEnvPinsHostKeys(t *testing.T) {
	u := bundle.Upstream{Name: "app", URL: "git@example.com:o/app.git", Credential: "/etc/claude-bottle/credentials/app"}
	g := gate{paths: paths{KnownHosts: "/flag/kh"}}
	want := "GIT_SSH_COMMAND=" + sshCommand(u.Credential, "/flag/kh")
	if got := g.upstreamEnv(u)[0]; got != want {
		t.Errorf("without spec known hosts: %s, want %s", got, want)
	}
	g.spec.KnownHosts = "/spec/kh"
	want = "GIT_SSH_COMMAND=" + sshCommand(u.Credential, "/spec/kh")
	if got := g.upstreamEnv(u)[0]; got != want {
		t.Errorf("with spec known hosts: %s, want %s", got, want)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://ghp_secret@github.com/o/app.git": "https://REDACTED@github.com/o/app.git",
		"https://u:p@host/app.git":                "https://REDACTED@host/app.git",
		"https://github.com/o/app.git":            "https://github.com/o/app.git",
		"ssh://git@github.com/o/app.git":          "ssh://git@github.com/o/app.git",
		"git@github.com:o/app.git":                "git@github.com:o/app.git",
		"--git-dir=/srv/git/app.git":              "--git-dir=/srv/git/app.git",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsLocalURL(t *testing.T) {
	for url, want := range map[string]bool{
		"/srv/up.git":                      true,
		"../up.git":                        true,
		"file:///srv/up.git":               true,
		"./a:b":                            true,
		"git@github.com:org/app.git":       false,
		"ssh://git@github.com/org/app.git": false,
		"https://github.com/org/app.git":   false,
		"git://host/app.git":               false,
	} {
		if got := isLocalURL(url); got != want {
			t.Errorf("isLocalURL(%q) = %v, want %v", url, got, want)
		}
	}
}

func TestShQuoteRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "it's", "a b", "$HOME", "`x`", "line\nbreak", "-n", `\`} {
		out, err := exec.Command("sh", "-c", "printf %s "+shQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh printf %s = %q, %v; want %q", shQuote(s), out, err, s)
		}
	}
}

func TestHookScripts(t *testing.T) {
	p := defaultPaths()
	want := "#!/bin/sh\n# written by claude-bottle sidecar run\n" +
		"exec '/usr/local/bin/claude-bottle' sidecar --spec '/etc/claude-bottle/bundle.json' --run-dir '/run/claude-bottle' " +
		"--git-root '/srv/git' --known-hosts '/etc/claude-bottle/known_hosts' git-pre-receive\n"
	if got := hookScript(p, "git-pre-receive"); got != want {
		t.Errorf("pre-receive script:\n%s\nwant\n%s", got, want)
	}
}

func TestGitGateArgv(t *testing.T) {
	want := "/usr/local/bin/claude-bottle sidecar --spec /etc/claude-bottle/bundle.json --run-dir /run/claude-bottle " +
		"--git-root /srv/git --known-hosts /etc/claude-bottle/known_hosts --binary /usr/local/bin/claude-bottle " +
		"git-gate serve --listen 172.18.0.2:9418"
	if got := strings.Join(gitGateArgv(defaultPaths(), "172.18.0.2", 9418), " "); got != want {
		t.Errorf("argv:\n%s\nwant\n%s", got, want)
	}
}

func TestSetupRefusesUnsafeNames(t *testing.T) {
	for _, name := range []string{"../x", "a/b", ".hidden", "a..b", ""} {
		g := gate{paths: paths{GitRoot: t.TempDir(), RunDir: t.TempDir()}, log: testLogger(),
			spec: bundle.Spec{Upstreams: []bundle.Upstream{{Name: name, URL: "/x"}}}}
		if err := g.setup(context.Background()); err == nil || !strings.Contains(err.Error(), "unsafe name") {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

func TestSetupIsIdempotent(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Parallel()
	dir := t.TempDir()
	g := gate{paths: paths{GitRoot: filepath.Join(dir, "git"), RunDir: dir, Binary: "/bin/cb"}, env: gitEnv(t), log: testLogger(),
		spec: bundle.Spec{Upstreams: []bundle.Upstream{{Name: "app", URL: "/old"}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.setup(ctx); err != nil {
		t.Fatal(err)
	}
	g.spec.Upstreams[0].URL = "/new" // a restart with a changed spec
	if err := g.setup(ctx); err != nil {
		t.Fatal(err)
	}
	repo := g.repoPath("app")
	for key, want := range map[string]string{"remote.origin.url": "/new", "remote.origin.fetch": "+refs/*:refs/*", "remote.origin.mirror": ""} {
		out, _ := runGit(g.env, "", "--git-dir="+repo, "config", "--get", key)
		if out != want {
			t.Errorf("%s = %q, want %q", key, out, want)
		}
	}
	if !fileExists(filepath.Join(repo, "hooks", "pre-receive")) {
		t.Error("pre-receive hook not written")
	}
	if !fileExists(g.gateStateDir()) {
		t.Error("the gate's state directory was not created")
	}
}

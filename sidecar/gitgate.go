package sidecar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// gate is git-gate: one bare mirror per upstream under GitRoot, served by
// the front listener (gatefront.go), refreshed before each fetch and
// forwarding each push (hooks.go) under the upstream's ref policy
// (refpolicy.go).
type gate struct {
	paths
	spec bundle.Spec
	env  []string // base environment of git commands
	log  logrus.FieldLogger
}

// gitGateArgv is git-gate's daemon: the front listener, with the bundle's paths.
func gitGateArgv(p paths, listenHost string, port int) []string {
	return []string{
		p.Binary, "sidecar",
		"--spec", p.Spec, "--run-dir", p.RunDir, "--git-root", p.GitRoot,
		"--known-hosts", p.KnownHosts, "--binary", p.Binary,
		"git-gate", "serve", "--listen", net.JoinHostPort(listenHost, strconv.Itoa(port)),
	}
}

// gateLog is where hooks log when the front gave them no log fd (a hook run
// by hand); under the front, their lines reach the bundle's log. It is in
// gateStateDir: the gate runs as its own user, who may write only there
// and in GitRoot.
func (p paths) gateLog() string { return filepath.Join(p.gateStateDir(), "hooks.log") }

// hookScript is a hook that runs `claude-bottle sidecar … <subcommand>`
// with this bundle's paths.
func hookScript(p paths, subcommand string) string {
	return fmt.Sprintf("#!/bin/sh\n# written by claude-bottle sidecar run\nexec %s sidecar --spec %s --run-dir %s --git-root %s --known-hosts %s %s\n",
		shQuote(p.Binary), shQuote(p.Spec), shQuote(p.RunDir), shQuote(p.GitRoot), shQuote(p.KnownHosts), subcommand)
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// setup creates the gate's directory and (or, on a restart, updates) one
// bare mirror per upstream, with its pre-receive hook.
func (g gate) setup(ctx context.Context) error {
	if err := os.MkdirAll(g.gateStateDir(), 0o750); err != nil {
		return fmt.Errorf("git-gate dir: %w", err)
	}
	if err := os.MkdirAll(g.GitRoot, 0o755); err != nil {
		return fmt.Errorf("git-gate root: %w", err)
	}
	if len(g.spec.Upstreams) == 0 {
		g.log.Warn("git-gate runs without upstreams")
	}
	for _, u := range g.spec.Upstreams {
		if err := g.ensureRepo(ctx, u); err != nil {
			return fmt.Errorf("git-gate upstream %s: %w", u.Name, err)
		}
	}
	return nil
}

// upstreamName is what the gate accepts as a repository name.
var upstreamName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (g gate) ensureRepo(ctx context.Context, u bundle.Upstream) error {
	if !upstreamName.MatchString(u.Name) || strings.Contains(u.Name, "..") {
		return fmt.Errorf("unsafe name %q", u.Name)
	}
	repo := g.repoPath(u.Name)
	if fileExists(repo) {
		if _, err := g.git(ctx, repo, nil, "remote", "set-url", "origin", u.URL); err != nil {
			return err
		}
	} else {
		if _, err := g.git(ctx, "", nil, "-c", "init.defaultBranch=main", "init", "--quiet", "--bare", repo); err != nil {
			return err
		}
		if _, err := g.git(ctx, repo, nil, "remote", "add", "--mirror=fetch", "origin", u.URL); err != nil {
			return err
		}
	}
	hook := hookScript(g.paths, "git-pre-receive")
	if err := os.WriteFile(filepath.Join(repo, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		return fmt.Errorf("pre-receive hook: %w", err)
	}
	g.log.Infof("git-gate serves %s.git for %s", u.Name, redactURL(u.URL))
	return nil
}

// upstreamFor finds the upstream whose mirror is repo (as git passes it).
func (g gate) upstreamFor(repo string) (bundle.Upstream, error) {
	fi, err := os.Stat(repo)
	if err != nil {
		return bundle.Upstream{}, fmt.Errorf("unknown repository")
	}
	for _, u := range g.spec.Upstreams {
		if ui, err := os.Stat(g.repoPath(u.Name)); err == nil && os.SameFile(fi, ui) {
			return u, nil
		}
	}
	return bundle.Upstream{}, fmt.Errorf("unknown repository")
}

// upstreamEnv is the environment of git commands that talk to u: ssh with
// the upstream's key, if any, and the pinned host keys, never trust on first
// use; no prompts.
func (g gate) upstreamEnv(u bundle.Upstream) []string {
	knownHosts := g.spec.KnownHosts // where the launch placed them, if it did
	if knownHosts == "" {
		knownHosts = g.KnownHosts // absent: ssh then trusts no host
	}
	return []string{"GIT_SSH_COMMAND=" + sshCommand(u.Credential, knownHosts), "GIT_TERMINAL_PROMPT=0",
		// A hung https upstream fails instead of holding the agent's fetch.
		"GIT_HTTP_LOW_SPEED_LIMIT=1000", "GIT_HTTP_LOW_SPEED_TIME=30"}
}

// sshCommand is GIT_SSH_COMMAND (run by sh): the key path comes from the
// spec; no key material is ever in an argv.
func sshCommand(key, knownHosts string) string {
	cmd := "ssh"
	if key != "" {
		cmd += " -i " + shQuote(key) + " -o IdentitiesOnly=yes"
	}
	return cmd + " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + shQuote(knownHosts) + " -o BatchMode=yes" +
		" -o ConnectTimeout=15 -o ServerAliveInterval=5 -o ServerAliveCountMax=3" // a hung upstream fails, fast
}

// isLocalURL reports whether git reaches url through its local transport
// (a path or file://), as opposed to ssh, git or http(s).
func isLocalURL(url string) bool {
	if strings.HasPrefix(url, "file://") {
		return true
	}
	if strings.Contains(url, "://") {
		return false
	}
	colon := strings.IndexByte(url, ':')
	slash := strings.IndexByte(url, '/')
	return colon < 0 || (slash >= 0 && slash < colon) // host:path is scp-like ssh
}

// git runs git on repo (or without one) and returns its stdout; the error
// carries its stderr.
func (g gate) git(ctx context.Context, repo string, env []string, args ...string) ([]byte, error) {
	cmd := g.command(ctx, repo, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gitError{args: cmd.Args[1:], err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// command is git on repo (or without one), with env added to the gate's.
// --git-dir wins over the GIT_DIR that hooks inherit.
func (g gate) command(ctx context.Context, repo string, env []string, args ...string) *exec.Cmd {
	if repo != "" {
		args = append([]string{"--git-dir=" + repo}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(append([]string{}, g.env...), env...)
	return cmd
}

// withoutVar returns env without the variable name.
func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// gitError is a failed git command.
type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	args := make([]string, len(e.args))
	for i, a := range e.args {
		args[i] = redactURL(a)
	}
	return fmt.Sprintf("git %s: %v: %s", strings.Join(args, " "), e.err, e.stderr)
}

// redactURL hides the user part of an http(s) URL, where a token may sit
// (https://TOKEN@host/…), for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || (u.Scheme != "https" && u.Scheme != "http") {
		return s
	}
	u.User = url.User("REDACTED")
	return u.String()
}

func (e *gitError) Unwrap() error { return e.err }

// firstLine is the first line of a failed git command's stderr (git and
// ssh say what went wrong first), for the client.
func firstLine(err error) string {
	var ge *gitError
	if !errors.As(err, &ge) || ge.stderr == "" {
		return err.Error()
	}
	line, _, _ := strings.Cut(ge.stderr, "\n")
	return strings.TrimSpace(line)
}

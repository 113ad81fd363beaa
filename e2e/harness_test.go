//go:build e2e

// Package e2e runs claude-bottle against the local Docker Engine with the
// project's own images (built by testimages/build.sh, see
// testimages/README.md): `make e2e`.
//
// Everything a test creates carries the label claude-bottle.name=e2e-… and
// is removed when the test ends, also when it fails.
package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Images the suite uses (testimages/build.sh builds them; make e2e builds
// the bundle, with E2E_PIPELOCK_IMAGE's pipelock when it is set).
var (
	bundleImage = envOr("E2E_BUNDLE_IMAGE", "claude-bottle-test/bundle-e2e:latest")
	agentImage  = envOr("E2E_AGENT_IMAGE", "claude-bottle-test/agent:latest")
	toolsImage  = envOr("E2E_TOOLS_IMAGE", "claude-bottle-test/tools:latest")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// bins holds the binaries built once for the suite.
var bins struct {
	dir       string // claude-bottle, mcpcall
	smolvmDir string // the smolvm stand-in, alone (put on PATH for smolmachines)
}

func TestMain(m *testing.M) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		fmt.Println("e2e: SKIP: docker info failed:", err)
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "claude-bottle-e2e")
	if err != nil {
		panic(err)
	}
	bins.dir = filepath.Join(dir, "bin")
	bins.smolvmDir = filepath.Join(dir, "smolvm")
	root := repoRoot()
	for _, b := range []struct{ out, pkg string }{
		{filepath.Join(bins.dir, "claude-bottle"), "."},
		{filepath.Join(bins.dir, "mcpcall"), "./e2e/mcpcall"},
		{filepath.Join(bins.dir, "fakeapi"), "./e2e/fakeapi"},
		{filepath.Join(bins.smolvmDir, "smolvm"), "./internal/fake/cmd/smolvm"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Printf("e2e: go build %s: %v\n%s", b.pkg, err, out)
			os.Exit(1)
		}
	}
	for _, img := range []string{bundleImage, agentImage, toolsImage} {
		if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
			fmt.Printf("e2e: image %s is missing: run ./testimages/build.sh (make e2e does)\n", img)
			os.Exit(1)
		}
	}
	if err := checkPipelock(); err != nil {
		fmt.Println("e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkPipelock says which pipelock the suite's bundle holds and, with
// E2E_PIPELOCK_IMAGE, that it is that image's /pipelock (make e2e builds the
// bundle from it).
func checkPipelock() error {
	got, err := fileHash(bundleImage, "/usr/local/bin/pipelock")
	if err != nil {
		return err
	}
	out, _ := exec.Command("docker", "run", "--rm", "--label", "claude-bottle.name=e2e-pipelock-check",
		"--entrypoint", "/usr/local/bin/pipelock", bundleImage, "version").CombinedOutput() // the real one prints it on stderr
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	fmt.Printf("e2e: the bundle %s holds %s (sha256 %s)\n", bundleImage, version, got[:16])
	img := os.Getenv("E2E_PIPELOCK_IMAGE")
	if img == "" {
		return nil
	}
	want, err := fileHash(img, "/pipelock")
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the bundle %s does not hold the /pipelock of E2E_PIPELOCK_IMAGE=%s: run make e2e E2E_PIPELOCK_IMAGE=%s", bundleImage, img, img)
	}
	return nil
}

// fileHash is the SHA-256 of a file in an image, read through a container
// that is created, never started, and removed.
func fileHash(image, path string) (string, error) {
	id, err := try("docker", "create", "--label", "claude-bottle.name=e2e-pipelock-check", image, "none")
	if err != nil {
		return "", fmt.Errorf("read %s of %s: %w", path, image, err)
	}
	defer try("docker", "rm", id)
	var out bytes.Buffer
	cmd := exec.Command("docker", "cp", id+":"+path, "-")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("read %s of %s: %w", path, image, err)
	}
	tr := tar.NewReader(&out)
	if _, err := tr.Next(); err != nil {
		return "", fmt.Errorf("read %s of %s: %w", path, image, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, tr); err != nil {
		return "", fmt.Errorf("read %s of %s: %w", path, image, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// uniq returns a short random suffix.
func uniq() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run runs a command and returns its trimmed stdout; it fails the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := try(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

// try runs a command and returns its trimmed stdout, and an error carrying its stderr.
func try(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%w: %s%s", err, errb.String(), out.String())
	}
	return strings.TrimSpace(out.String()), err
}

// bottleEnv is the environment claude-bottle runs with in the suite.
type bottleEnv struct {
	t       testing.TB
	env     []string
	fakeDir string
}

// newEnv prepares claude-bottle's environment: the test images, a cache of
// its own, and (smol) the smolvm stand-in with docker-backed guests.
func newEnv(t testing.TB, smol bool) *bottleEnv {
	dir := t.TempDir()
	path := bins.dir + string(os.PathListSeparator) + os.Getenv("PATH")
	if smol {
		path = bins.smolvmDir + string(os.PathListSeparator) + path
	}
	env := append(os.Environ(),
		"PATH="+path,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"CLAUDE_BOTTLE_AGENT_IMAGE="+agentImage,
		"CLAUDE_BOTTLE_BUNDLE_IMAGE="+bundleImage,
		"FAKE_DIR="+dir,
		"FAKE_SMOLVM_GUEST=docker",
		"ANTHROPIC_API_KEY=sk-ant-e2e-secret-value",
		// No Claude setup (claudecfg): the suite's bottles start bare, never
		// with the ~/.claude of whoever runs it (TestClaudeSetup brings its own).
		"CLAUDE_CONFIG_DIR="+filepath.Join(dir, "no-claude-setup"),
	)
	return &bottleEnv{t: t, env: env, fakeDir: dir}
}

// cb runs claude-bottle; it returns stdout, stderr and the error.
func (e *bottleEnv) cb(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(bins.dir, "claude-bottle"), args...)
	cmd.Env = e.env
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return strings.TrimSpace(out.String()), errb.String(), err
}

// mustCB runs claude-bottle and fails the test on error.
func (e *bottleEnv) mustCB(args ...string) string {
	e.t.Helper()
	out, errs, err := e.cb(args...)
	if err != nil {
		e.t.Fatalf("claude-bottle %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errs)
	}
	e.t.Logf("claude-bottle %s:\n%s", args[len(args)-1], timingLines(errs))
	return out
}

// timingLines keeps the launch's timing line from its log.
func timingLines(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " ready in ") || strings.Contains(l, "fingerprint") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// stopAtEnd removes the bottle when the test ends, also when it failed, and
// sweeps anything left with its label.
func (e *bottleEnv) stopAtEnd(name string) {
	e.t.Cleanup(func() {
		e.cb("--backend", "smolmachines", "stop", name)
		sweep(e.t, "claude-bottle.name="+name)
	})
}

// sweep removes every container and network carrying the label.
func sweep(t testing.TB, label string) {
	if ids, _ := try("docker", "ps", "-aq", "--filter", "label="+label); ids != "" {
		try("docker", append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	if ids, _ := try("docker", "network", "ls", "-q", "--filter", "label="+label); ids != "" {
		try("docker", append([]string{"network", "rm"}, strings.Fields(ids)...)...)
	}
}

// leftovers lists what is still labelled with the bottle's name.
func leftovers(t *testing.T, name string) string {
	t.Helper()
	ctrs := run(t, "docker", "ps", "-a", "--filter", "label=claude-bottle.name="+name, "--format", "{{.Names}}")
	nets := run(t, "docker", "network", "ls", "--filter", "label=claude-bottle.name="+name, "--format", "{{.Name}}")
	return strings.TrimSpace(ctrs + "\n" + nets)
}

// service starts a helper container (upstream, test server) on the default
// bridge, labelled for the sweep, and returns its IP address.
func service(t *testing.T, name string, args ...string) string {
	t.Helper()
	label := "claude-bottle.name=" + name
	t.Cleanup(func() { sweep(t, label) })
	run(t, "docker", append([]string{"run", "--detach", "--name", name, "--label", label,
		"--label", "claude-bottle.role=e2e-service"}, args...)...)
	return run(t, "docker", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name)
}

// waitFor polls fn until it returns nil or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
}

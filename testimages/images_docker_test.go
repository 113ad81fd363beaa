// Package testimages holds test-only images and the scripts that build them
// (build.sh). This test checks the built images on the docker engine: it
// skips unless `testimages/build.sh` has built them.
package testimages

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

const (
	bundleImage = "claude-bottle-test/bundle:latest"
	agentImage  = "claude-bottle-test/agent:latest"
)

func docker(t *testing.T, stdin io.Reader, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

func mustDocker(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	out, err := docker(t, stdin, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// needImages skips unless docker runs and the test images exist.
func needImages(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker")
	}
	for _, img := range []string{bundleImage, agentImage} {
		if _, err := docker(t, nil, "image", "inspect", img); err != nil {
			t.Skipf("%s not built: run testimages/build.sh", img)
		}
	}
}

// scope gives every resource of a test one claude-bottle.name label and
// removes them all at the end, also on failure.
func scope(t *testing.T) (name string, label string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name = "testimages-" + hex.EncodeToString(b)
	label = "claude-bottle.name=" + name
	t.Cleanup(func() {
		if ids, _ := docker(t, nil, "ps", "-aq", "--filter", "label="+label); strings.TrimSpace(ids) != "" {
			docker(t, nil, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}
		if ids, _ := docker(t, nil, "network", "ls", "-q", "--filter", "label="+label); strings.TrimSpace(ids) != "" {
			docker(t, nil, append([]string{"network", "rm"}, strings.Fields(ids)...)...)
		}
	})
	return name, label
}

func tarOf(t *testing.T, name string, mode int64, data []byte) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Now()})
	tw.Write(data)
	tw.Close()
	return &buf
}

func TestImageConfig(t *testing.T) {
	needImages(t)
	out := mustDocker(t, nil, "image", "inspect", "-f", "{{json .Config.Entrypoint}} {{json .Config.User}}", bundleImage)
	if strings.TrimSpace(out) != `["/usr/local/bin/claude-bottle","sidecar","run"] ""` {
		t.Errorf("bundle entrypoint/user: %s", out)
	}
	out = mustDocker(t, nil, "image", "inspect", "-f", "{{json .Config.Cmd}} {{json .Config.User}} {{json .Config.WorkingDir}} {{json .Config.Env}}", agentImage)
	if !strings.HasPrefix(out, `["sleep","infinity"] "" "/home/node/workspace" `) || !strings.Contains(out, `"HOME=/home/node"`) {
		t.Errorf("agent config: %s", out)
	}
	_, label := scope(t)
	out = mustDocker(t, nil, "run", "--rm", "--label", label, agentImage, "sh", "-c",
		`id -u; id -u node; id -g node; stat -c %U:%G /home/node/workspace; runuser -u node -- claude mcp add --scope user --transport http supervise http://s/; claude "a b"; cat /home/node/.claude-standin.log; stat -c %U /home/node/.claude-standin.log`)
	want := "0\n1000\n1000\nnode:node\nAdded HTTP MCP server supervise with URL: http://s/ to user config\nFile modified: /home/node/.claude.json\n" +
		"claude mcp add --scope user --transport http supervise http://s/\nclaude 'a b'\nnode\n"
	if out != want {
		t.Errorf("agent:\n%s\nwant:\n%s", out, want)
	}
}

// TestPipelockStandin runs the stand-in inside the bundle image with the
// config claude-bottle renders, as the sidecar would, and talks to it from
// the agent image. upstream.test is on a private docker network: it passes
// the SSRF guard only because the spec trusts it.
func TestPipelockStandin(t *testing.T) {
	needImages(t)
	name, label := scope(t)
	net := name + "-net"
	mustDocker(t, nil, "network", "create", "--label", label, net)
	mustDocker(t, nil, "run", "-d", "--label", label, "--network", net, "--network-alias", "upstream.test", "--network-alias", "private.test", agentImage,
		"node", "-e", `require("http").createServer((q,s)=>s.end("hello from upstream "+q.url)).listen(8080)`)

	pl := name + "-bundle"
	mustDocker(t, nil, "create", "--name", pl, "--label", label, "--network", net, "--network-alias", "pipelock",
		"--entrypoint", "/bin/sh", bundleImage, "-c",
		"pipelock tls init --out "+bundle.PipelockCADir+" && exec pipelock run --config "+bundle.PipelockConfigPath)
	spec := bundle.Spec{AllowHosts: bundle.AllowHosts([]string{"upstream.test", "private.test"}),
		Trust: bundle.Trust{Domains: []string{"upstream.test"}}}
	cfg := bundle.PipelockFor(spec, "0.0.0.0", nil)
	mustDocker(t, tarOf(t, "pipelock.yaml", 0o600, cfg), "cp", "-", pl+":"+bundle.ConfigDir)
	mustDocker(t, nil, "start", pl)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := docker(t, nil, "exec", pl, "pipelock", "healthcheck", "--addr", "127.0.0.1:8888"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := docker(t, nil, "logs", pl)
			t.Fatalf("stand-in not healthy:\n%s", logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The CA: ECDSA P-256, 0600, as pipelock's `tls init` makes it.
	caTar := mustDocker(t, nil, "cp", pl+":"+bundle.PipelockCACert, "-")
	tr := tar.NewReader(strings.NewReader(caTar))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := io.ReadAll(tr)
	if hdr.Mode&0o777 != 0o600 {
		t.Errorf("ca.pem mode %o", hdr.Mode)
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		t.Fatalf("ca.pem: %q", caPEM)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() || !ca.IsCA || ca.Subject.CommonName != "Pipelock CA" {
		t.Errorf("CA: %T CN=%q IsCA=%t", ca.PublicKey, ca.Subject.CommonName, ca.IsCA)
	}

	curl := func(args ...string) string {
		t.Helper()
		script := `printf '%s' "$CA" >/tmp/ca.pem; curl -sS --max-time 10 --cacert /tmp/ca.pem -x http://pipelock:8888 -w ' [%{http_code}]' "$@" 2>&1; true`
		return mustDocker(t, nil, append([]string{"run", "--rm", "--label", label, "--network", net, "-e", "CA=" + string(caPEM),
			agentImage, "sh", "-c", script, "curl"}, args...)...)
	}
	if out := curl("http://upstream.test:8080/x"); out != "hello from upstream /x [200]" {
		t.Errorf("allowed plain HTTP: %q", out)
	}
	if out := curl("http://other.test/"); out != "blocked: domain not in allowlist: other.test\n [403]" {
		t.Errorf("blocked plain HTTP: %q", out)
	}
	// The same server by a name that is allowlisted, not trusted.
	if out := curl("http://private.test:8080/"); !strings.HasPrefix(out, "blocked: SSRF blocked: private.test resolves to internal IP ") || !strings.HasSuffix(out, "[403]") {
		t.Errorf("untrusted private destination: %q", out)
	}
	if out := curl("https://other.test/"); !strings.Contains(out, "CONNECT tunnel failed, response 403") {
		t.Errorf("blocked CONNECT: %q", out)
	}
	// Intercepted: curl verifies the leaf against the CA, and then gets the
	// stand-in's error (the upstream speaks no TLS), not a TLS failure.
	if out := curl("https://upstream.test:8080/"); !strings.HasSuffix(out, "[502]") {
		t.Errorf("intercepted HTTPS: %q", out)
	}

	// Re-rendered config with one more host (as supervise approves), then
	// SIGHUP: other.test passes the allowlist, and fails to resolve, which
	// the SSRF guard refuses (fail closed).
	cfg = bundle.PipelockFor(spec, "0.0.0.0", []string{"other.test"})
	mustDocker(t, tarOf(t, "pipelock.yaml", 0o600, cfg), "cp", "-", pl+":"+bundle.ConfigDir)
	mustDocker(t, nil, "kill", "-s", "HUP", pl)
	time.Sleep(500 * time.Millisecond)
	if out := curl("http://other.test/"); !strings.HasPrefix(out, "blocked: SSRF check failed: DNS resolution error for other.test") {
		t.Errorf("after reload: %q", out)
	}

	// Unknown keys are rejected, as pipelock does.
	out, err := docker(t, nil, "run", "--rm", "--label", label, "--entrypoint", "/bin/sh", bundleImage, "-c",
		`printf 'version: 1\nbogus: 1\n' >/tmp/c.yaml; pipelock run --config /tmp/c.yaml`)
	if err == nil || !strings.Contains(out, "line 2: field bogus not found in type config.Config") {
		t.Errorf("unknown key: %v %q", err, out)
	}
}

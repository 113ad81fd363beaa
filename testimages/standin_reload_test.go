package testimages

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/supervise"
)

// TestSuperviseReloadKeepsTrust: supervise's re-render after an approval
// (Allowlist.Render, what approve writes before its SIGHUP) keeps every
// trust setting of the launch, so the pipelock stand-in, which refuses a
// reload that widens trust as pipelock does, takes it and lets the
// approved host through. The control re-renders from a spec whose trust
// grew: that reload is refused and the approval does not reach the proxy.
// No docker: the stand-in runs as a process on loopback.
func TestSuperviseReloadKeepsTrust(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pipelock")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = "pipelock-standin"
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in: %v\n%s", err, out)
	}
	caDir := filepath.Join(dir, "ca")
	if out, err := exec.Command(bin, "tls", "init", "--out", caDir).CombinedOutput(); err != nil {
		t.Fatalf("tls init: %v\n%s", err, out)
	}
	spec := bundle.Spec{Bottle: "b", Daemons: []string{bundle.Pipelock, bundle.Supervise}, Listen: bundle.ListenAll,
		AllowHosts: bundle.AllowHosts([]string{"git.corp.test"}),
		Trust:      bundle.Trust{Domains: []string{"git.corp.test"}, CIDRs: []string{"10.20.0.0/16"}, Passthrough: []string{"git.corp.test"}}}
	a := supervise.Allowlist{SpecPath: filepath.Join(dir, "bundle.json"), ConfigPath: filepath.Join(dir, "pipelock.yaml"),
		ListenPath: filepath.Join(dir, "listen-address")}
	writeTestFile(t, a.SpecPath, spec.Marshal())
	writeTestFile(t, a.ListenPath, []byte("127.0.0.1\n"))
	// The rendered config names the bundle's CA paths; the test's CA is elsewhere.
	render := func(approved ...string) {
		t.Helper()
		cfg, err := a.Render(approved)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, a.ConfigPath, []byte(strings.ReplaceAll(string(cfg), bundle.PipelockCADir, caDir)))
	}
	render()
	p := startStandin(t, bin, a.ConfigPath)

	if body := p.get(t, "http://approved.test/"); body != "blocked: domain not in allowlist: approved.test\n" {
		t.Fatalf("before the approval: %q", body)
	}
	render("approved.test")
	p.reload(t)
	// On the allowlist now: the guard looks it up, and it does not resolve.
	if body := p.get(t, "http://approved.test/"); !strings.HasPrefix(body, "blocked: SSRF check failed: DNS resolution error for approved.test") {
		t.Errorf("after the approval: %q\nlog:\n%s", body, p.log())
	}
	if strings.Contains(p.log(), "rejected") {
		t.Errorf("the re-render was refused:\n%s", p.log())
	}

	// Control: trust that grew since the launch is a refused reload.
	spec.Trust.CIDRs = append(spec.Trust.CIDRs, "192.168.0.0/16")
	writeTestFile(t, a.SpecPath, spec.Marshal())
	render("approved.test", "second.test")
	p.reload(t)
	if body := p.get(t, "http://second.test/"); body != "blocked: domain not in allowlist: second.test\n" {
		t.Errorf("after a widening re-render: %q", body)
	}
	if !strings.Contains(p.log(), "rejected: security downgrade from strict mode") {
		t.Errorf("the widening reload was not refused:\n%s", p.log())
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// standin is a running pipelock stand-in and its log.
type standin struct {
	cmd   *exec.Cmd
	proxy *url.URL
	mu    sync.Mutex
	out   strings.Builder
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:[0-9]+)`)

func startStandin(t *testing.T, bin, config string) *standin {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &standin{cmd: exec.CommandContext(ctx, bin, "run", "--config", config, "--listen", "127.0.0.1:0")}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		s.proxy = &url.URL{Scheme: "http", Host: a}
	case <-time.After(10 * time.Second):
		t.Fatalf("the stand-in did not start:\n%s", s.log())
	}
	return s
}

func (s *standin) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// reload sends SIGHUP and waits for the stand-in's verdict on it.
func (s *standin) reload(t *testing.T) {
	t.Helper()
	verdicts := func() int {
		l := s.log()
		return strings.Count(l, "config reloaded") + strings.Count(l, `"method":"CONFIG_RELOAD"`)
	}
	before := verdicts()
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if verdicts() > before {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no reload verdict:\n%s", s.log())
}

// get fetches u through the stand-in and returns the body.
func (s *standin) get(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(s.proxy)}}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

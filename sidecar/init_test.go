package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testInit is an init running in a temp dir with fake daemons.
type testInit struct {
	initConfig
	out, logs *syncBuffer
}

// newTestInit writes a spec asking for daemons and returns an init config
// whose daemons listen on free loopback ports. fakes sets FAKE_PIPELOCK /
// FAKE_SUPERVISE behaviours; "{port}" in them is the daemon's port.
func newTestInit(t *testing.T, spec bundle.Spec, fakes map[string]string) *testInit {
	t.Helper()
	dir := t.TempDir()
	p := paths{
		Spec:           filepath.Join(dir, "etc", "bundle.json"),
		PipelockConfig: filepath.Join(dir, "etc", "pipelock.yaml"),
		KnownHosts:     filepath.Join(dir, "etc", "known_hosts"),
		RunDir:         filepath.Join(dir, "run"),
		GitRoot:        filepath.Join(dir, "git"),
		Binary:         filepath.Join(testBin, roleClaudeBottle),
	}
	mustWrite(t, p.Spec, spec.Marshal())
	mustWrite(t, p.launchSecret(), []byte(testSecret+"\n"))
	mustWrite(t, p.PipelockConfig, bundle.PipelockFor(spec, "127.0.0.1", nil))
	mustWrite(t, p.KnownHosts, nil)
	out, logs := &syncBuffer{}, &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	cfg := defaultInitConfig(p, log)
	cfg.pipelock = filepath.Join(testBin, rolePipelock)
	cfg.listenHost = "127.0.0.1"
	cfg.accounts = nil // every daemon as the test's user
	cfg.credentialDir, cfg.superviseDir, cfg.decisionsDir = filepath.Join(dir, "etc", "credentials"),
		filepath.Join(dir, "supervise"), filepath.Join(dir, "supervise-decisions")
	cfg.approved = approvedHosts(cfg.superviseDir, cfg.decisionsDir)
	cfg.ports = map[string]int{bundle.Pipelock: freePort(t), bundle.GitGate: freePort(t), bundle.Supervise: freePort(t)}
	cfg.grace = time.Second
	cfg.readyTimeout = 10 * time.Second
	cfg.env = append(gitEnv(t),
		"FAKE_PIPELOCK="+strings.ReplaceAll(fakes[bundle.Pipelock], "{port}", strconv.Itoa(cfg.ports[bundle.Pipelock])),
		"FAKE_SUPERVISE="+strings.ReplaceAll(fakes[bundle.Supervise], "{port}", strconv.Itoa(cfg.ports[bundle.Supervise])))
	cfg.out = out
	cfg.reap = false // other tests' children live in this process
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("init log:\n%s\ndaemon output:\n%s", logs, out)
		}
	})
	return &testInit{initConfig: cfg, out: out, logs: logs}
}

// runningInit is an init running in the test process.
type runningInit struct {
	cancel context.CancelFunc
	done   chan struct{} // closed once run returned err
	err    error
}

// start runs the init until stop or the end of the test.
func (ti *testInit) start(t *testing.T) *runningInit {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningInit{cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = ti.run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop cancels the init (as SIGTERM does) and returns its result.
func (r *runningInit) stop() error {
	r.cancel()
	return r.wait(15 * time.Second)
}

// wait returns the init's result once it returns by itself.
func (r *runningInit) wait(timeout time.Duration) error {
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		return fmt.Errorf("init still running after %s", timeout)
	}
}

// waitReady waits for the ready marker while done is open.
func (ti *testInit) waitReady(t *testing.T, done <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !fileExists(ti.readyPath()) {
		select {
		case <-done:
			t.Fatal("init returned before ready")
		case <-deadline:
			t.Fatal("not ready after 10s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (ti *testInit) pid(t *testing.T, daemon string) int {
	t.Helper()
	data, err := os.ReadFile(ti.pidPath(daemon))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func accepts(port int) bool {
	conn, err := net.DialTimeout("tcp", hostPort("127.0.0.1", port), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

var bothDaemons = bundle.Spec{Bottle: "t", Daemons: []string{bundle.Pipelock, bundle.Supervise}}

func TestInitReadyOnlyOnceEveryPortAccepts(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{
		bundle.Pipelock:  "listen=127.0.0.1:{port}",
		bundle.Supervise: "delay=500ms listen=127.0.0.1:{port}",
	})
	r := ti.start(t)
	for deadline := time.Now().Add(10 * time.Second); ; {
		ready := fileExists(ti.readyPath())
		if ready && !accepts(ti.ports[bundle.Supervise]) {
			t.Fatal("ready marker exists while supervise does not accept connections yet")
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready after 10s")
		}
		select {
		case <-r.done:
			t.Fatalf("init returned: %v", r.err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	pids := map[string]int{}
	for _, d := range []string{bundle.Pipelock, bundle.Supervise} {
		pids[d] = ti.pid(t, d)
		if !alive(pids[d]) {
			t.Errorf("%s pid %d from its pid file is not running", d, pids[d])
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for d, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still running after the init returned", d, pid)
		}
		if fileExists(ti.pidPath(d)) {
			t.Errorf("%s pid file left behind", d)
		}
	}
	if fileExists(ti.readyPath()) {
		t.Error("ready marker left behind")
	}
	for _, want := range []string{"[pipelock] pipelock up\n", "[pipelock] pipelock warming\n", "[supervise] supervise up\n"} {
		if !strings.Contains(ti.out.String(), want) {
			t.Errorf("daemon output lacks %q:\n%s", want, ti.out)
		}
	}
}

func TestInitDaemonDeathStopsTheBundle(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{
		bundle.Pipelock:  "listen=127.0.0.1:{port}",
		bundle.Supervise: "listen=127.0.0.1:{port} exit=3 after=300ms",
	})
	r := ti.start(t)
	ti.waitReady(t, r.done)
	pipelock := ti.pid(t, bundle.Pipelock)
	err := r.wait(5 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "daemon supervise exited: exit status 3") {
		t.Fatalf("err = %v, want it to name supervise and its status", err)
	}
	if alive(pipelock) {
		t.Error("pipelock still running after supervise died")
	}
}

func TestInitStopsDaemonsOnSignal(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{
		bundle.Pipelock:  "listen=127.0.0.1:{port}",
		bundle.Supervise: "listen=127.0.0.1:{port}",
	})
	ti.grace = 5 * time.Second
	r := ti.start(t)
	ti.waitReady(t, r.done)
	start := time.Now()
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("stopping cooperative daemons took %s", took)
	}
}

func TestInitKillsDaemonIgnoringSIGTERMAfterGrace(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{
		bundle.Pipelock:  "listen=127.0.0.1:{port} ignore-term",
		bundle.Supervise: "listen=127.0.0.1:{port}",
	})
	r := ti.start(t)
	ti.waitReady(t, r.done)
	pipelock := ti.pid(t, bundle.Pipelock)
	start := time.Now()
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	took := time.Since(start)
	if took < ti.grace || took > ti.grace+killWait {
		t.Errorf("stop took %s, want between the grace (%s) and grace+%s", took, ti.grace, killWait)
	}
	if alive(pipelock) {
		t.Error("pipelock survived SIGKILL")
	}
	if !strings.Contains(ti.logs.String(), "pipelock stopped: signal: killed") {
		t.Errorf("log does not show pipelock killed:\n%s", ti.logs)
	}
}

func TestInitReadyTimeout(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{
		bundle.Pipelock:  "listen=127.0.0.1:{port}",
		bundle.Supervise: "", // never listens
	})
	ti.readyTimeout = 300 * time.Millisecond
	err := ti.start(t).wait(5 * time.Second)
	want := "not ready after 300ms: supervise does not accept connections on 127.0.0.1:"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if fileExists(ti.readyPath()) {
		t.Error("ready marker exists")
	}
}

func TestInitStartFailureStopsStartedDaemons(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, map[string]string{bundle.Pipelock: "listen=127.0.0.1:{port}"})
	ti.Binary = filepath.Join(t.TempDir(), "missing")
	err := ti.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start supervise") {
		t.Fatalf("err = %v, want a start supervise error", err)
	}
	if !strings.Contains(ti.logs.String(), "pipelock stopped") {
		t.Errorf("pipelock was not stopped:\n%s", ti.logs)
	}
}

func TestInitStripsProxyEnv(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bundle.Spec{Daemons: []string{bundle.Pipelock}}, map[string]string{
		bundle.Pipelock: "env listen=127.0.0.1:{port}",
	})
	ti.env = append(ti.env, "HTTP_PROXY=http://a", "https_proxy=http://b", "No_Proxy=c", "ALL_PROXY=d", "FAKE_KEEP=1")
	r := ti.start(t)
	ti.waitReady(t, r.done)
	r.stop()
	out := ti.out.String()
	if !strings.Contains(out, "[pipelock] env FAKE_KEEP=1\n") {
		t.Errorf("FAKE_KEEP did not reach pipelock:\n%s", out)
	}
	if strings.Contains(strings.ToUpper(out), "_PROXY=") {
		t.Errorf("a proxy variable reached pipelock:\n%s", out)
	}
}

func TestInitCA(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bundle.Spec{Daemons: []string{bundle.Pipelock}}, map[string]string{
		bundle.Pipelock: "listen=127.0.0.1:{port}",
	})
	r := ti.start(t)
	ti.waitReady(t, r.done)
	r.stop()
	for path, want := range map[string]os.FileMode{ti.caDir(): 0o755, ti.caCert(): 0o644, ti.caKey(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %v, want %v", filepath.Base(path), got, want)
		}
	}
	// A restarted bundle keeps the CA the guest already trusts.
	before, _ := os.ReadFile(ti.caCert())
	r = ti.start(t)
	ti.waitReady(t, r.done)
	r.stop()
	after, _ := os.ReadFile(ti.caCert())
	if !bytes.Equal(before, after) {
		t.Errorf("restart replaced the CA: %q -> %q", before, after)
	}
}

func TestInitRefusesUnknownDaemon(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bundle.Spec{Daemons: []string{bundle.Pipelock, "tunnel"}}, nil)
	err := ti.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"tunnel" is not a daemon this sidecar runs`) {
		t.Fatalf("err = %v", err)
	}
}

// TestInitProcessSignals runs the init as its own process, as `sidecar run`
// does (real signals, reaping as a subreaper), with an orphan to reap.
func TestInitProcessSignals(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("subreaper is Linux-only")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ti := newTestInit(t, bothDaemons, map[string]string{
				bundle.Pipelock:  "listen=127.0.0.1:{port}",
				bundle.Supervise: "orphan listen=127.0.0.1:{port}",
			})
			cfg, _ := json.Marshal(initTestConfig{
				Paths: ti.paths, Pipelock: ti.pipelock, Ports: ti.ports,
				Grace: ti.grace, ReadyTimeout: ti.readyTimeout, Env: ti.env,
			})
			cmd := exec.Command(filepath.Join(testBin, roleInit))
			cmd.Env = append(os.Environ(), initConfigEnv+"="+string(cfg))
			cmd.Stdout, cmd.Stderr = ti.out, ti.logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			exited := make(chan struct{})
			go func() {
				waitErr = cmd.Wait()
				close(exited)
			}()
			ti.waitReady(t, exited)
			time.Sleep(400 * time.Millisecond) // the orphan sleeps 0.2s
			cmd.Process.Signal(sig)
			select {
			case <-exited:
				if waitErr != nil {
					t.Fatalf("init exited with %v after %s", waitErr, sig)
				}
			case <-time.After(ti.grace + killWait + time.Second):
				cmd.Process.Kill()
				t.Fatalf("init still running after %s", sig)
			}
			if !strings.Contains(ti.logs.String(), "reaped orphan pid") {
				t.Errorf("the orphan was not reaped by the init:\n%s", ti.logs)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	if defaultGrace != 8*time.Second {
		t.Errorf("defaultGrace = %s, want 8s (design §8)", defaultGrace)
	}
	cfg := defaultInitConfig(defaultPaths(), logrus.New())
	if cfg.grace != defaultGrace || cfg.readyTimeout != 60*time.Second || !cfg.reap || cfg.pipelock != "pipelock" {
		t.Errorf("defaultInitConfig = grace %s, ready timeout %s, reap %v, pipelock %q", cfg.grace, cfg.readyTimeout, cfg.reap, cfg.pipelock)
	}
	p := defaultPaths()
	for got, want := range map[string]string{
		p.readyPath():                 bundle.ReadyPath,
		p.pidPath(bundle.GitGate):     bundle.PidPath(bundle.GitGate),
		p.caDir():                     bundle.PipelockCADir,
		p.caCert():                    bundle.PipelockCACert,
		p.caKey():                     bundle.PipelockCAKey,
		p.repoPath("app"):             bundle.GitRoot + "/app.git",
		p.Spec + p.PipelockConfig:     bundle.SpecPath + bundle.PipelockConfigPath,
		p.Binary + " " + p.KnownHosts: bundle.Binary + " " + bundle.KnownHostsPath,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestPlanArgv(t *testing.T) {
	cfg := defaultInitConfig(defaultPaths(), logrus.New())
	cfg.listenHost = "172.18.0.2" // the bottle network's address, as run picks it
	spec := bundle.Spec{Daemons: []string{bundle.Supervise, bundle.Egress, bundle.GitGate, bundle.Pipelock},
		Egress: &bundle.EgressSpec{Upstream: "https://api.anthropic.com", Credential: bundle.APIKeyEnv}}
	daemons, err := cfg.plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []daemon{
		{bundle.Pipelock, []string{"pipelock", "run", "--config", "/etc/claude-bottle/pipelock.yaml"}, 8888, ""},
		{bundle.GitGate, []string{"/usr/local/bin/claude-bottle", "sidecar", "--spec", "/etc/claude-bottle/bundle.json",
			"--run-dir", "/run/claude-bottle", "--git-root", "/srv/git", "--known-hosts", "/etc/claude-bottle/known_hosts",
			"--binary", "/usr/local/bin/claude-bottle", "git-gate", "serve", "--listen", "172.18.0.2:9418"}, 9418, ""},
		{bundle.Supervise, []string{"/usr/local/bin/claude-bottle", "sidecar", "supervise", "serve", "--listen", "172.18.0.2:9100"}, 9100, ""},
		// egress on the bundle's loopback whatever the listen address: only pipelock's tunnel reaches it
		{bundle.Egress, []string{"/usr/local/bin/claude-bottle", "sidecar", "--spec", "/etc/claude-bottle/bundle.json",
			"--run-dir", "/run/claude-bottle", "egress", "serve", "--listen", "127.0.0.1:8080"}, 8080, "127.0.0.1"},
	}
	if len(daemons) != len(want) {
		t.Fatalf("got %d daemons, want %d", len(daemons), len(want))
	}
	for i := range want {
		if daemons[i].name != want[i].name || daemons[i].port != want[i].port || daemons[i].host != want[i].host ||
			strings.Join(daemons[i].argv, " ") != strings.Join(want[i].argv, " ") {
			t.Errorf("daemon %d = %+v\nwant %+v", i, daemons[i], want[i])
		}
	}
}

package sidecar

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// addr is the gate's host:port.
func (g *testGate) addr() string { return "127.0.0.1:" + strconv.Itoa(g.ports[bundle.GitGate]) }

// exchange sends raw to the gate at addr as a client's first bytes and
// returns the pkt-lines it answers with, up to its first flush, an ERR or
// the end of the connection.
func exchange(t *testing.T, addr string, raw string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	pkts, err := readPkts(bufio.NewReader(conn))
	if err != nil {
		t.Fatalf("after %q: %v (read %q)", raw, err, pkts)
	}
	return pkts
}

// readPkts reads pkt-lines up to a flush, an ERR or EOF.
func readPkts(r io.Reader) ([]string, error) {
	var out []string
	for {
		var size [4]byte
		if _, err := io.ReadFull(r, size[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		n, err := strconv.ParseUint(string(size[:]), 16, 16)
		if err != nil {
			return out, fmt.Errorf("not a pkt-line: %q", size)
		}
		if n == 0 {
			return out, nil
		}
		line := make([]byte, n-4)
		if _, err := io.ReadFull(r, line); err != nil {
			return out, err
		}
		out = append(out, string(line))
		if strings.HasPrefix(string(line), "ERR ") {
			return out, nil
		}
	}
}

// gitRecorder is a directory holding a `git` that logs its argv and
// environment to calls, then runs the real git.
func gitRecorder(t *testing.T) (dir, calls string) {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls.log")
	script := "#!/bin/sh\n{ printf 'argv:'; printf ' %s' \"$@\"; printf '\\n'; env | sed 's/^/env: /'; } >> " +
		shQuote(calls) + "\nexec " + shQuote(real) + " \"$@\"\n"
	mustWrite(t, filepath.Join(dir, "git"), []byte(script))
	if err := os.Chmod(filepath.Join(dir, "git"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, calls
}

// TestGateDropsHost is finding 1's attack: a request whose host= carries a
// secret in a name under the attacker's domain. The gate serves it (every
// service, both protocol versions) and the host never reaches git: not in
// an argv, not in an environment (GIT_PROTOCOL holds the version only), not
// in the log. git daemon resolved it (getaddrinfo) before its access hook
// ran; the e2e suite counts the bundle's datagrams for the same request.
func TestGateDropsHost(t *testing.T) {
	wrapper, calls := gitRecorder(t)
	g := newTestGateWith(t, gateOpts{pathPrefix: wrapper})
	secret := make([]byte, 12)
	rand.Read(secret)
	label := hex.EncodeToString(secret)
	host := "host=" + label + ".attacker.tld"
	for _, tc := range []struct{ name, line, want string }{
		{"upload-pack v0", "git-upload-pack /" + testSecret + "/app.git\x00" + host + "\x00", g.first + " HEAD"},
		{"upload-pack v2", "git-upload-pack /" + testSecret + "/app.git\x00" + host + "\x00\x00version=2\x00", "version 2"},
		{"receive-pack", "git-receive-pack /" + testSecret + "/app.git\x00" + host + "\x00", g.first + " refs/heads/trunk"},
	} {
		pkts := exchange(t, g.addr(), string(pktLine(tc.line)))
		if len(pkts) == 0 || !strings.HasPrefix(pkts[0], tc.want) {
			t.Errorf("%s: the gate answered %q, want a first line %q…", tc.name, pkts, tc.want)
		}
	}
	mustGit(t, g.env, "", "ls-remote", g.url) // and a real client

	log, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), label) || strings.Contains(string(log), "attacker.tld") {
		t.Errorf("the client's host= reached git:\n%s", grepLines(string(log), "attacker.tld"))
	}
	for _, want := range []string{"argv: upload-pack --strict --timeout=300 " + g.repoPath("app"),
		"argv: -c receive.maxInputSize=1073741824 -c receive.keepAlive=5 receive-pack " + g.repoPath("app"),
		"env: GIT_PROTOCOL=version=2"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("no git call has %q:\n%s", want, grepLines(string(log), "argv:"))
		}
	}
	for _, line := range strings.Split(grepLines(string(log), "GIT_PROTOCOL="), "\n") {
		if line != "" && line != "env: GIT_PROTOCOL=version=2" {
			t.Errorf("git got %s", line)
		}
	}
	if strings.Contains(g.out.String(), label) {
		t.Errorf("the client's host= is in the bundle's log:\n%s", g.out)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestGateRefusesBadRequests: anything but upload-pack or receive-pack of
// an upstream by its exact name gets an ERR the client shows, and a line
// in the log.
func TestGateRefusesBadRequests(t *testing.T) {
	g := newTestGate(t)
	mustGit(t, g.env, "", "init", "--quiet", "--bare", filepath.Join(g.GitRoot, "stray.git")) // under the root, no upstream
	for raw, want := range map[string]string{
		string(pktLine("git-upload-archive /" + testSecret + "/app.git\x00host=h\x00")):  `ERR git-gate: service "git-upload-archive" is not served (only git-upload-pack and git-receive-pack)`,
		string(pktLine("git-upload-pack /" + testSecret + "/nope.git\x00host=h\x00")):    `ERR git-gate: unknown repository "/nope.git"`,
		string(pktLine("git-upload-pack /" + testSecret + "/stray.git\x00host=h\x00")):   `ERR git-gate: unknown repository "/stray.git"`,
		string(pktLine("git-upload-pack /" + testSecret + "/app\x00host=h\x00")):         `ERR git-gate: unknown repository "/app"`,
		string(pktLine("git-receive-pack /" + testSecret + "/../app.git\x00host=h\x00")): `ERR git-gate: unknown repository "/../app.git"`,
		string(pktLine("git-upload-pack /" + testSecret + "/git/app.git\x00host=h\x00")): `ERR git-gate: unknown repository "/git/app.git"`,
		string(pktLine("git-upload-pack /app.git\x00host=" + strings.Repeat("a", 2000))): "ERR git-gate: request of 2030 bytes (at most 1024)",
		"GET / HTTP/1.1\r\nHost: git-gate\r\n\r\n":                                       "ERR git-gate: request is not a pkt-line",
	} {
		pkts := exchange(t, g.addr(), raw)
		if len(pkts) != 1 || pkts[0] != want {
			t.Errorf("%.60q: the gate answered %q, want %q", raw, pkts, want)
		}
	}
	out, err := runGit(g.env, "", "ls-remote", strings.TrimSuffix(g.url, "app.git")+"nope.git")
	if err == nil || !strings.Contains(out, `fatal: remote error: git-gate: unknown repository "/nope.git"`) {
		t.Errorf("git shows the refusal as: %v\n%s", err, out)
	}
	if log := logEventually(g.out, `unknown repository \"/stray.git\"`); !strings.Contains(log, `[git-gate] `) || !strings.Contains(log, `unknown repository \"/stray.git\"`) {
		t.Errorf("the bundle's log lacks the refusal:\n%s", log)
	}
}

// TestGateLogShowsGuestBytesVisibly is finding 5 for the gate: a request
// and ref names carrying terminal escapes, C1 controls and bidi overrides
// reach the bundle's log escaped, never raw.
func TestGateLogShowsGuestBytesVisibly(t *testing.T) {
	g := newTestGate(t)
	exchange(t, g.addr(), string(pktLine("git-upload-pack /"+testSecret+"/\x1b]0;pwned\x07\x1b[2J.git\x00host=\x1b[1A\x00")))
	exchange(t, g.addr(), string(pktLine("git-\u009b31m /app.git\x00")))
	clone := g.clone(t)
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "HEAD:refs/heads/x\u009b2J\u202eevil")
	out, err := runGit(g.env, clone, "push", "origin", ":refs/heads/x\u009b2J\u202eevil")
	if err == nil {
		t.Fatalf("the deletion was forwarded:\n%s", out)
	}
	log := logEventually(g.out, "refused by its ref policy")
	for _, raw := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(log, raw) {
			t.Errorf("the bundle's log has a raw %q:\n%s", raw, log)
		}
	}
	if !strings.Contains(log, `x\\u009b2J\\u202eevil`) {
		t.Errorf("the bundle's log does not show the ref name escaped:\n%s", log)
	}
}

// frontInProcess serves g's mirrors from a second front, in the test
// process, changed by mod; it returns the front's git:// URL of app and
// its log.
func (g *testGate) frontInProcess(t *testing.T, mod func(*front)) (string, *syncBuffer) {
	t.Helper()
	spec, err := g.loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(visibleFormatter{&logrus.TextFormatter{DisableColors: true}})
	f := newFront(gate{paths: g.paths, spec: spec, env: stripProxyEnv(g.initConfig.env), log: log}, testSecret)
	mod(&f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve still running 10 s after its context ended")
		}
		if t.Failed() {
			t.Logf("in-process front's log:\n%s", logs)
		}
	})
	return "git://" + ln.Addr().String() + "/" + testSecret + "/app.git", logs
}

func hostOf(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "git://"), "/"+testSecret+"/app.git")
}

// TestGateRequestDeadline: a client that sends no request, or half of one,
// is refused once the request timeout passes.
func TestGateRequestDeadline(t *testing.T) {
	g := newTestGate(t)
	url, _ := g.frontInProcess(t, func(f *front) { f.requestTimeout = 300 * time.Millisecond })
	for _, raw := range []string{"", "00", "0030git-upload-pack /app"} {
		start := time.Now()
		pkts := exchange(t, hostOf(url), raw)
		if len(pkts) != 1 || !strings.Contains(pkts[0], "i/o timeout") {
			t.Errorf("%q: the gate answered %q, want an ERR on the timeout", raw, pkts)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q: refused after %s", raw, d)
		}
	}
}

// TestGateConnectionCap: past the cap, a connection gets an ERR at once;
// once one ends, the gate serves again.
func TestGateConnectionCap(t *testing.T) {
	g := newTestGate(t)
	url, logs := g.frontInProcess(t, func(f *front) { f.maxConns = 2 })
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", hostOf(url)) // sends nothing: holds a slot
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond) // both accepted
	if pkts := exchange(t, hostOf(url), string(pktLine("git-upload-pack /"+testSecret+"/app.git\x00"))); len(pkts) != 1 || pkts[0] != "ERR git-gate: too many connections (2)" {
		t.Errorf("a third connection got %q", pkts)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := runGit(g.env, "", "ls-remote", url)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with a slot free again, ls-remote still fails: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "2 connections already") {
		t.Errorf("the log lacks the refusal:\n%s", logs)
	}
}

// TestGateIdleConnectionEnds: a client that stops talking mid-protocol is
// disconnected after the idle time, its service stopped.
func TestGateIdleConnectionEnds(t *testing.T) {
	g := newTestGate(t)
	url, logs := g.frontInProcess(t, func(f *front) { f.idle = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, string(pktLine("git-upload-pack /"+testSecret+"/app.git\x00")))
	r := bufio.NewReader(conn)
	if pkts, err := readPkts(r); err != nil || len(pkts) == 0 {
		t.Fatalf("no ref advertisement: %q, %v", pkts, err)
	}
	start := time.Now()
	_, err = r.ReadByte() // upload-pack waits for our wants, which never come
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset") {
		t.Fatalf("read after going quiet: %v, want the gate to close", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %s, want about the idle time", d)
	}
	if !strings.Contains(logs.String(), "upload-pack app: idle for 300ms, closing") {
		t.Errorf("the log lacks the idle close:\n%s", logs)
	}
}

// TestGatePushSizeCap is finding 7: a pack over receive.maxInputSize is
// refused with git's own message, and nothing reaches the upstream.
func TestGatePushSizeCap(t *testing.T) {
	g := newTestGate(t)
	url, _ := g.frontInProcess(t, func(f *front) { f.maxPushSize = 64 << 10 })
	clone := filepath.Join(t.TempDir(), "clone")
	mustGit(t, g.env, "", "clone", "--quiet", url, clone)
	small := commit(t, g.env, clone, "small")
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "trunk") // under the cap: passes
	big := make([]byte, 256<<10)
	rand.Read(big) // incompressible
	mustWrite(t, filepath.Join(clone, "big"), big)
	mustGit(t, g.env, clone, "add", "big")
	mustGit(t, g.env, clone, "commit", "--quiet", "-m", "big")
	out, err := runGit(g.env, clone, "push", "origin", "trunk")
	if err == nil {
		t.Fatalf("a 256 KiB pack passed a 64 KiB cap:\n%s", out)
	}
	if !strings.Contains(out, "remote: fatal: pack exceeds maximum allowed size") {
		t.Errorf("the push failed without git's reason:\n%s", out)
	}
	if got := g.rev(t, g.upstream, "trunk"); got != small {
		t.Errorf("upstream trunk = %s, want %s (the push under the cap)", got, small)
	}
}

// TestGateSlowPushIsNotIdle: a push whose forwarding takes longer than the
// idle time still lands: receive-pack sends keepalives while its hook
// works, so only a stalled peer idles.
func TestGateSlowPushIsNotIdle(t *testing.T) {
	g := newTestGate(t)
	url, _ := g.frontInProcess(t, func(f *front) { f.idle, f.keepAlive = 2500*time.Millisecond, time.Second })
	hook := filepath.Join(g.upstream, "hooks", "pre-receive")
	mustWrite(t, hook, []byte("#!/bin/sh\nsleep 5\n"))
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	mustGit(t, g.env, "", "clone", "--quiet", url, clone)
	second := commit(t, g.env, clone, "second")
	mustGit(t, g.env, clone, "push", "--quiet", "origin", "trunk")
	if got := g.rev(t, g.upstream, "trunk"); got != second {
		t.Errorf("upstream trunk = %s, want %s", got, second)
	}
}

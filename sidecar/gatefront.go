package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// The front's limits. A guest that reaches them only slows itself down;
// the limits keep it from growing the bundle without bound.
const (
	// maxGateConns is how many connections the gate serves at once; more
	// are refused with an ERR.
	maxGateConns = 16
	// gateIdle ends a connection on which no byte moved either way for
	// this long. git sends keepalives while it works (upload-pack packing,
	// every 5 s; receive-pack's hooks, every gateKeepAlive), so only a
	// stalled peer reaches it.
	gateIdle = 5 * time.Minute
	// gateKeepAlive is receive.keepAlive (git's default, set so that it
	// stays well below gateIdle): a push whose forwarding takes long is
	// not idle.
	gateKeepAlive = 5 * time.Second
	// requestTimeout bounds the wait for the request line.
	requestTimeout = 10 * time.Second
	// maxPushSize is receive.maxInputSize: the largest pack a push may send
	// (1 GiB: more than any source push, less than fills the bundle's disk).
	maxPushSize = 1 << 30
	// serviceWaitDelay bounds the wait for a finished service's output.
	serviceWaitDelay = 5 * time.Second
)

// front is git-gate's listener. It replaces `git daemon`, which resolved the
// client's host= (getaddrinfo, to hand its access hook a canonical name)
// inside the bundle, where DNS works: a guest could leak data in a name.
// The front reads the request line itself, keeps only the service, the
// repository and the protocol version (gaterequest.go), refreshes the
// mirror (failing closed) and runs upload-pack or receive-pack on the
// connection, as git daemon does after its checks.
//
// Why not a front that hands the connection to `git daemon --inetd`: the
// daemon would parse the request again (the front would have to forge a
// line for it), guess paths (/app finds app.git), pass every extra argument
// on as GIT_PROTOCOL and log the client's line raw; with the front owning
// the only parser, what a guest sends cannot reach anything but these
// checks, and no name is ever looked up for it.
type front struct {
	gate
	// secret is the bottle's: a request without it is refused before any
	// repository is looked at (bundle/secret.go).
	secret         string
	maxConns       int
	idle           time.Duration
	keepAlive      time.Duration
	requestTimeout time.Duration
	maxPushSize    int64
}

func newFront(g gate, secret string) front {
	return front{gate: g, secret: secret, maxConns: maxGateConns, idle: gateIdle, keepAlive: gateKeepAlive,
		requestTimeout: requestTimeout, maxPushSize: maxPushSize}
}

// serve accepts connections on ln until ctx ends, then waits for those
// being served (their services are killed with ctx).
func (f front) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, f.maxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		switch {
		case ctx.Err() != nil:
			if conn != nil {
				conn.Close()
			}
			return nil
		case errors.Is(err, net.ErrClosed):
			return fmt.Errorf("git-gate: %w", err)
		case err != nil: // out of descriptors, say: try again soon
			f.log.Warnf("accept: %v", err)
			time.Sleep(pollEvery)
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			f.log.Warnf("refused %s: %d connections already", conn.RemoteAddr(), f.maxConns)
			go f.refuse(conn, fmt.Errorf("too many connections (%d)", f.maxConns))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			f.handle(ctx, conn)
		}()
	}
}

// handle serves one connection.
func (f front) handle(ctx context.Context, conn net.Conn) {
	peer := conn.RemoteAddr().String()
	req, u, err := f.admit(ctx, conn)
	if errors.Is(err, io.EOF) {
		f.log.Debugf("%s closed before its request (a readiness probe)", peer)
		conn.Close()
		return
	}
	if err != nil {
		f.log.Warnf("refused %s: %v", peer, err)
		f.refuse(conn, err)
		return
	}
	defer conn.Close()
	f.log.Infof("%s %s: from %s", req.service, u.Name, peer)
	if err := f.run(ctx, conn, req, u); err != nil {
		f.log.Warnf("%s %s: %v", req.service, u.Name, err)
	}
}

// admit reads the request and does the access check: the bottle's secret,
// a service the gate serves, on an upstream of the spec by its exact name; for upload-pack,
// the mirror is refreshed from the upstream first, failing closed. A push
// is not refreshed for: pre-receive forwards it only over what the gate
// last fetched (see refUpdate.lease).
func (f front) admit(ctx context.Context, conn net.Conn) (gateRequest, bundle.Upstream, error) {
	conn.SetReadDeadline(time.Now().Add(f.requestTimeout))
	req, err := readRequest(conn)
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		return req, bundle.Upstream{}, err
	}
	if !bundle.SecretMatches(req.secret, f.secret) {
		return req, bundle.Upstream{}, errNoSecret
	}
	u, ok := f.upstreamNamed(req.repo)
	if !ok {
		return req, u, fmt.Errorf("unknown repository %q", "/"+req.repo+".git")
	}
	if req.service != uploadPack {
		return req, u, nil
	}
	ctx, cancel := context.WithTimeout(ctx, hookTimeout)
	defer cancel()
	return req, u, f.refresh(ctx, u)
}

// upstreamNamed is the spec's upstream called name, exactly.
func (g gate) upstreamNamed(name string) (bundle.Upstream, bool) {
	for _, u := range g.spec.Upstreams {
		if u.Name == name {
			return u, true
		}
	}
	return bundle.Upstream{}, false
}

// refuse sends the client "ERR git-gate: <reason>" (git shows it as
// "fatal: remote error: git-gate: …") and closes the connection.
func (f front) refuse(conn net.Conn, reason error) {
	defer conn.Close()
	msg := "git-gate: " + reason.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	conn.SetWriteDeadline(time.Now().Add(f.requestTimeout))
	conn.Write(pktLine("ERR " + msg))
}

// serviceArgs runs the service on the mirror as git daemon would, with
// --strict (the path is the repository, no guessing) and the idle timeout
// for upload-pack, the push size cap and keepalives for receive-pack.
func (f front) serviceArgs(req gateRequest, u bundle.Upstream) []string {
	if req.service == uploadPack {
		return []string{"upload-pack", "--strict", "--timeout=" + strconv.Itoa(int(f.idle/time.Second)), f.repoPath(u.Name)}
	}
	return []string{
		"-c", "receive.maxInputSize=" + strconv.FormatInt(f.maxPushSize, 10), // git: "pack exceeds maximum allowed size"
		"-c", "receive.keepAlive=" + strconv.Itoa(int(f.keepAlive/time.Second)),
		"receive-pack", f.repoPath(u.Name),
	}
}

// serviceEnv is the service's environment beside the gate's: the protocol
// version only (never an inherited GIT_PROTOCOL), and for receive-pack the
// descriptor its hooks log on.
func (f front) serviceEnv(req gateRequest) []string {
	var env []string
	if req.version != "" {
		env = append(env, "GIT_PROTOCOL="+req.version)
	}
	if req.service == receivePack {
		env = append(env, gateLogFDEnv+"=3") // ExtraFiles[0]
	}
	return env
}

// run runs the service with the connection as its stdin and stdout, until
// it exits, the client goes away or the connection idles; its stderr and
// its hooks' log lines go to the gate's log.
func (f front) run(ctx context.Context, conn net.Conn, req gateRequest, u bundle.Upstream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := f.gate
	g.env = withoutVar(g.env, "GIT_PROTOCOL")
	cmd := g.command(ctx, "", f.serviceEnv(req), f.serviceArgs(req, u)...)
	cmd.WaitDelay = serviceWaitDelay
	stderr := &lineLog{log: func(line string) { f.log.Warnf("%s %s: git: %s", req.service, u.Name, line) }}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	hookLog := make(chan struct{})
	var hookW *os.File
	if req.service == receivePack {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("hook log pipe: %w", err)
		}
		defer r.Close()
		hookW = w
		cmd.ExtraFiles = []*os.File{w}
		go func() { defer close(hookLog); f.relayHookLog(r) }()
	} else {
		close(hookLog)
	}
	err = cmd.Start()
	if hookW != nil {
		hookW.Close() // the service and its hooks hold it now: EOF once the last one is done
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", req.service, err)
	}
	active := &activeConn{Conn: conn}
	active.touch()
	go f.watchIdle(ctx, active, func() {
		f.log.Warnf("%s %s: idle for %s, closing", req.service, u.Name, f.idle)
		cancel()
		conn.Close()
	})
	go func() {
		io.Copy(stdin, active)
		stdin.Close() // the client is done sending
	}()
	if _, err := io.Copy(active, stdout); err != nil {
		cancel() // the client went away: stop the service
	}
	err = cmd.Wait()
	stderr.flush()
	select {
	case <-hookLog:
	case <-time.After(serviceWaitDelay):
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", req.service, err)
	}
	return nil
}

// relayHookLog logs the hooks' "LEVEL MESSAGE" lines (hookLogger) until
// the last hook closes the pipe.
func (f front) relayHookLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		level, msg, _ := strings.Cut(sc.Text(), " ")
		switch level {
		case "error", "fatal", "panic":
			f.log.Error(msg)
		case "warning":
			f.log.Warn(msg)
		default:
			f.log.Info(msg)
		}
	}
	io.Copy(io.Discard, r) // a line too long ended the scan: never block a hook
}

// watchIdle calls onIdle once c has moved no byte for f.idle, unless ctx
// ends first.
func (f front) watchIdle(ctx context.Context, c *activeConn, onIdle func()) {
	tick := time.NewTicker(max(f.idle/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if c.idleFor() >= f.idle {
				onIdle()
				return
			}
		}
	}
}

// activeConn is a connection that records when a byte last moved on it.
type activeConn struct {
	net.Conn
	last atomic.Int64 // UnixNano
}

func (c *activeConn) touch()                 { c.last.Store(time.Now().UnixNano()) }
func (c *activeConn) idleFor() time.Duration { return time.Since(time.Unix(0, c.last.Load())) }

func (c *activeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

func (c *activeConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// lineLog is an io.Writer that hands each complete line to log (a
// service's stderr); flush hands over the rest. Lines are cut at 4 KiB.
type lineLog struct {
	log func(string)
	buf []byte
}

const maxLogLine = 4 << 10

func (l *lineLog) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		switch {
		case i >= 0 && i <= maxLogLine:
			l.log(string(l.buf[:i]))
			l.buf = l.buf[i+1:]
		case len(l.buf) >= maxLogLine:
			l.log(string(l.buf[:maxLogLine]))
			l.buf = l.buf[maxLogLine:]
		default:
			return len(p), nil
		}
	}
}

func (l *lineLog) flush() {
	if len(l.buf) > 0 {
		l.log(string(l.buf))
		l.buf = nil
	}
}

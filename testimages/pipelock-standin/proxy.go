package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// state is one loaded config with its CA.
type state struct {
	cfg    *Config
	leaves *leafCache // nil unless TLS interception is on
}

// Proxy is the stand-in's proxy: forward proxy (CONNECT and absolute-form
// plain HTTP) with pipelock's allowlist semantics, TLS interception with
// the configured CA, and /health.
type Proxy struct {
	path, listen, mode string
	log                *log.Logger
	started            time.Time
	cur                atomic.Pointer[state]
	raw                []byte
	transport          *http.Transport
	dialer             *net.Dialer
	lookup             lookupHost // the SSRF guard's resolver
}

func NewProxy(path, listen, mode string, logger *log.Logger) (*Proxy, error) {
	p := &Proxy{path: path, listen: listen, mode: mode, log: logger, started: time.Now(),
		lookup: net.DefaultResolver.LookupHost}
	p.dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	p.transport = &http.Transport{
		Proxy:                 nil, // never chain through a proxy of the environment
		DialContext:           p.dial,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          32,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 120 * time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	st, raw, err := p.load()
	if err != nil {
		return nil, err
	}
	p.cur.Store(st)
	p.raw = raw
	return p, nil
}

func (p *Proxy) load() (*state, []byte, error) {
	var raw []byte
	if p.path != "" { // no --config: pipelock's defaults
		var err error
		if raw, err = os.ReadFile(p.path); err != nil {
			return nil, nil, fmt.Errorf("reading config %s: %w", p.path, err)
		}
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing config %s: %w", p.path, err)
	}
	if p.mode != "" {
		cfg.Mode = p.mode
	}
	if p.listen != "" {
		cfg.Listen = p.listen
	}
	st := &state{cfg: cfg}
	if cfg.TLSEnabled {
		ca, key, err := LoadCA(cfg.CACert, cfg.CAKey)
		if err != nil {
			return nil, nil, fmt.Errorf("tls_interception: loading CA (%s, %s): %w", cfg.CACert, cfg.CAKey, err)
		}
		st.leaves = newLeafCache(ca, key)
	}
	return st, raw, nil
}

// dial connects to addr through the SSRF guard of the config in force.
func (p *Proxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.cur.Load().cfg.safeDial(ctx, p.lookup, p.dialer, network, addr)
}

// Reload re-reads the config; a bad one is logged and the old one kept, and
// so is one that downgrades a strict config (reload.go), logged as pipelock
// logs it: a WARNING line per downgrade, then the refusal as a JSON error.
func (p *Proxy) Reload(why string) {
	old := p.cur.Load()
	st, raw, err := p.load()
	if err != nil {
		p.log.Printf("config reload (%s) failed, keeping the previous config: %v", why, err)
		return
	}
	p.raw = raw // a refused config is not retried until the file changes again
	refusal, warnings := reloadRefusal(old.cfg, st.cfg)
	out := p.log.Writer()
	for _, w := range warnings {
		fmt.Fprintf(out, "WARNING: config reload: %s - %s\n", w.field, w.message)
	}
	if refusal != "" {
		line, _ := json.Marshal(map[string]string{"level": "error", "component": "pipelock", "event": "error",
			"method": "CONFIG_RELOAD", "resource": p.path, "error": refusal,
			"time": time.Now().UTC().Format(time.RFC3339), "message": "request error"})
		fmt.Fprintf(out, "%s\n", line)
		return
	}
	if st.cfg.Listen != old.cfg.Listen || st.cfg.ForwardEnabled != old.cfg.ForwardEnabled {
		p.log.Printf("config reload (%s): listen and forward_proxy.enabled need a restart; keeping listen=%s forward_proxy=%t",
			why, old.cfg.Listen, old.cfg.ForwardEnabled)
		st.cfg.Listen, st.cfg.ForwardEnabled = old.cfg.Listen, old.cfg.ForwardEnabled
	}
	p.cur.Store(st)
	p.log.Printf("config reloaded (%s): %s", why, st.cfg.describe())
}

// changed reports whether the config file's content differs from the loaded one.
func (p *Proxy) changed() bool {
	if p.path == "" {
		return false
	}
	raw, err := os.ReadFile(p.path)
	return err == nil && !bytes.Equal(raw, p.raw)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := p.cur.Load()
	switch {
	case r.Method == http.MethodConnect:
		if !st.cfg.ForwardEnabled {
			http.Error(w, "forward proxy not enabled", http.StatusMethodNotAllowed)
			return
		}
		p.connect(w, r, st)
	case r.URL.IsAbs():
		if !st.cfg.ForwardEnabled {
			http.Error(w, "forward proxy not enabled", http.StatusMethodNotAllowed)
			return
		}
		p.forward(w, r, st, r.URL.Scheme, r.URL.Host)
	case r.URL.Path == "/health":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"status": "healthy", "version": version, "mode": st.cfg.Mode,
			"uptime_seconds":     int(time.Since(p.started).Seconds()),
			"forward_proxy":      st.cfg.ForwardEnabled,
			"tls_interception":   st.cfg.TLSEnabled,
			"kill_switch_active": false,
		})
	case r.URL.Path == "/fetch":
		http.Error(w, "the pipelock stand-in has no fetch proxy", http.StatusNotImplemented)
	default:
		http.NotFound(w, r)
	}
}

// blocked returns why a request to host is refused, or "".
func (p *Proxy) blocked(ctx context.Context, st *state, host string) string {
	reason := ""
	if !st.cfg.allowed(host) { // before any lookup, as pipelock (scanner.go:747)
		reason = "domain not in allowlist: " + host
	} else {
		reason = st.cfg.checkSSRF(ctx, p.lookup, host)
	}
	if reason != "" && !st.cfg.Enforce {
		p.log.Printf("warn (enforce: false): %s", reason)
		return ""
	}
	return reason
}

var secretPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"Anthropic API Key", regexp.MustCompile(`sk-ant-[A-Za-z0-9_-]{20,}`)},
	{"AWS Access ID", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"GitHub Token", regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b`)},
}

const maxScanBody = 5 << 20

// scanBody reads the body (bounded) and returns the name of a secret in it.
func scanBody(st *state, r *http.Request) (string, error) {
	if !st.cfg.BodyScanning || r.Body == nil || r.Body == http.NoBody {
		return "", nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxScanBody+1))
	r.Body.Close()
	if err != nil {
		return "", err
	}
	if len(body) > maxScanBody {
		return "request body too large to scan", nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	for _, s := range secretPatterns {
		if s.re.Match(body) {
			return "request body contains secret: " + s.name, nil
		}
	}
	return "", nil
}

// forward proxies one request to scheme://authority, after the checks.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, st *state, scheme, authority string) {
	host := hostOnly(authority)
	if reason := p.blocked(r.Context(), st, host); reason != "" {
		p.log.Printf("blocked %s %s: %s", r.Method, r.URL.Redacted(), reason)
		http.Error(w, "blocked: "+reason, http.StatusForbidden)
		return
	}
	reason, err := scanBody(st, r)
	if err != nil {
		http.Error(w, "reading request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if reason != "" {
		if st.cfg.BodyAction == "block" && st.cfg.Enforce {
			p.log.Printf("blocked %s %s: %s", r.Method, r.URL.Redacted(), reason)
			http.Error(w, "blocked: "+reason, http.StatusForbidden)
			return
		}
		p.log.Printf("warn %s %s: %s", r.Method, r.URL.Redacted(), reason)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = scheme
			pr.Out.URL.Host = authority
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("Accept-Encoding", "identity")
			pr.Out.Header.Del("Proxy-Authorization")
			pr.Out.Header.Del("Proxy-Connection")
		},
		Transport: p.transport,
		ErrorLog:  p.log,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Printf("upstream %s %s: %v", r.Method, r.URL.Redacted(), err)
			http.Error(w, "upstream error: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.log.Printf("allowed %s %s://%s%s", r.Method, scheme, authority, r.URL.Path)
	rp.ServeHTTP(w, r)
}

func hostOnly(authority string) string {
	if h, _, err := net.SplitHostPort(authority); err == nil {
		return h
	}
	return strings.Trim(authority, "[]")
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request, st *state) {
	authority := r.Host
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		http.Error(w, "bad CONNECT authority "+authority, http.StatusBadRequest)
		return
	}
	if reason := p.blocked(r.Context(), st, host); reason != "" {
		p.log.Printf("blocked CONNECT %s: %s", authority, reason)
		http.Error(w, "CONNECT blocked: "+reason, http.StatusForbidden) // pipelock's body (forward.go:246)
		return
	}
	intercept := st.leaves != nil && !isPassthrough(host, st.cfg.Passthrough)
	var upstream net.Conn
	if !intercept {
		upstream, err = st.cfg.safeDial(r.Context(), p.lookup, p.dialer, "tcp", authority)
		if err != nil {
			p.log.Printf("CONNECT %s: %v", authority, err)
			http.Error(w, "upstream dial failed: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	client := &bufConn{Conn: conn, r: rw.Reader}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		conn.Close()
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	if !intercept {
		p.log.Printf("tunnel %s (passthrough=%t)", authority, st.leaves != nil)
		splice(client, upstream)
		return
	}
	p.log.Printf("intercept %s", authority)
	tlsConn := tls.Server(client, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = host
			} else if !strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(host, ".")) {
				return nil, fmt.Errorf("SNI %q does not match CONNECT host %q", name, host)
			}
			return st.leaves.get(name)
		},
	})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.EqualFold(hostOnly(r.Host), host) {
				http.Error(w, fmt.Sprintf("blocked: Host %q does not match CONNECT target %q", r.Host, authority), http.StatusForbidden)
				return
			}
			p.forward(w, r, p.cur.Load(), "https", authority)
		}),
		ReadHeaderTimeout: 60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	srv.Serve(newOneConnListener(tlsConn))
}

// bufConn reads what the server had buffered before the hijack first.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (c *bufConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// splice copies both ways until both directions are done.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// oneConnListener hands out one connection, then ends when it is closed.
type oneConnListener struct {
	conn   net.Conn
	once   sync.Once
	closed chan struct{}
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{closed: make(chan struct{})}
	l.conn = &notifyConn{Conn: c, l: l}
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.conn })
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

type notifyConn struct {
	net.Conn
	l    *oneConnListener
	once sync.Once
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.l.closed) })
	return err
}

// errIsClosed reports a normal listener shutdown.
func errIsClosed(err error) bool {
	return errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed)
}

package sidecar

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/display"
)

// egress is the bottle's credential boundary. The guest's model requests
// arrive carrying the bottle token, a random value the launch made for this
// bottle and gave to the guest and the bundle only; egress checks it,
// replaces it with the user's real credential and forwards the request to
// the model API. The real credential never enters the guest, and the
// guest's own credentials never leave: whatever it sends in their place is
// dropped.
type egress struct {
	upstream *url.URL
	token    []byte
	cred     credential
	proxy    *httputil.ReverseProxy
	// slots bounds the requests in flight (the bundle's memory is the
	// guest's to exhaust otherwise), maxBody each request's body.
	slots   chan struct{}
	maxBody int64
	log     logrus.FieldLogger
	now     func() time.Time
}

const (
	// egressMaxBody caps a request body; the Messages API takes 32 MB.
	egressMaxBody = 64 << 20
	// egressMaxInFlight caps the requests egress serves at once (Claude
	// Code's subagents run a few at a time).
	egressMaxInFlight = 64
	// egressMaxLoggedPath is how much of a path a log line shows.
	egressMaxLoggedPath = 256
)

// egressListenHost is where egress listens whatever the bundle's listen
// mode: the bundle's loopback, which only pipelock's tunnel to
// bundle.EgressHost reaches (the port is never published).
const egressListenHost = "127.0.0.1"

// egressArgv is how the init runs egress: the spec (upstream, credential
// name) and the run dir (its certificate) where the init has them.
func egressArgv(p paths, port int) []string {
	return []string{p.Binary, "sidecar", "--spec", p.Spec, "--run-dir", p.RunDir,
		"egress", "serve", "--listen", net.JoinHostPort(egressListenHost, strconv.Itoa(port))}
}

// egressSecrets are the variables the bundle holds for egress alone: the
// init hands them to egress and to no other daemon.
var egressSecrets = []string{bundle.APIKeyEnv, bundle.OAuthTokenEnv, bundle.EgressTokenEnv}

// credential is the user's model credential, as egress sends it.
type credential struct {
	name  string // bundle.APIKeyEnv or bundle.OAuthTokenEnv
	value string
}

// set puts the credential in h the way Claude Code sends it: an API key as
// x-api-key, an OAuth token as Authorization: Bearer (anthropic-beta, which
// subscription requests need, passes through untouched). Whatever the
// guest sent in either header is gone.
func (c credential) set(h http.Header) {
	h.Del("X-Api-Key")
	h.Del("Authorization")
	if c.name == bundle.APIKeyEnv {
		h.Set("X-Api-Key", c.value)
		return
	}
	h.Set("Authorization", "Bearer "+c.value)
}

// newEgress builds egress from the spec and its environment (getenv).
func newEgress(spec bundle.EgressSpec, getenv func(string) string, transport http.RoundTripper, log logrus.FieldLogger) (*egress, error) {
	up, err := url.Parse(spec.Upstream)
	if err != nil || up.Scheme != "https" || up.Host == "" || up.User != nil {
		return nil, fmt.Errorf("egress: upstream %q: want an https URL without credentials", spec.Upstream)
	}
	if spec.Credential != bundle.APIKeyEnv && spec.Credential != bundle.OAuthTokenEnv {
		return nil, fmt.Errorf("egress: credential %q: want %s or %s", spec.Credential, bundle.APIKeyEnv, bundle.OAuthTokenEnv)
	}
	cred := credential{name: spec.Credential, value: getenv(spec.Credential)}
	token := getenv(bundle.EgressTokenEnv)
	if cred.value == "" || token == "" {
		return nil, fmt.Errorf("egress: %s and %s must be set in the bundle's environment", spec.Credential, bundle.EgressTokenEnv)
	}
	e := &egress{upstream: up, token: []byte(token), cred: cred, slots: make(chan struct{}, egressMaxInFlight),
		maxBody: egressMaxBody, log: log, now: time.Now}
	e.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(e.upstream) // the upstream's scheme, host and base path; its Host header
			e.cred.set(pr.Out.Header)
		},
		Transport:     transport,
		FlushInterval: -1, // server-sent events reach the guest as they arrive
		ErrorLog:      logrusErrors(log),
		ErrorHandler:  e.upstreamError,
	}
	return e, nil
}

// egressTransport dials the model API directly: pipelock cannot chain to
// another proxy (and the init gives no daemon proxy variables).
func egressTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 16,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		// No response header timeout: a long non-streaming answer takes
		// minutes before its first byte.
	}
}

// ServeHTTP checks the bottle token, forwards the request with the real
// credential and logs one line (never a header or a body).
func (e *egress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := e.now()
	cw := &countingWriter{ResponseWriter: w}
	switch reason := e.refusal(r.Header); {
	case reason != "":
		cw.note = reason
		apiError(cw, http.StatusUnauthorized, "authentication_error", "egress: "+reason)
	case !e.take():
		cw.note = fmt.Sprintf("%d requests in flight", egressMaxInFlight)
		apiError(cw, http.StatusTooManyRequests, "rate_limit_error", "egress: too many requests in flight")
	default:
		defer e.release()
		r.Body = http.MaxBytesReader(cw, r.Body, e.maxBody)
		e.proxy.ServeHTTP(cw, r)
	}
	e.logCall(r, cw, e.now().Sub(start))
}

// refusal says why a request's headers do not carry the bottle token, or
// "" when x-api-key or Authorization: Bearer does (compared in constant
// time: the guest learns nothing of the token from the timing).
func (e *egress) refusal(h http.Header) string {
	var offered []string
	offered = append(offered, h.Values("X-Api-Key")...)
	for _, v := range h.Values("Authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "Bearer ") {
			offered = append(offered, v[7:])
		}
	}
	if len(offered) == 0 {
		return "no bottle token (x-api-key or Authorization: Bearer)"
	}
	for _, v := range offered {
		if subtle.ConstantTimeCompare([]byte(v), e.token) == 1 {
			return ""
		}
	}
	return "not this bottle's token"
}

func (e *egress) take() bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (e *egress) release() { <-e.slots }

// upstreamError answers 502 when the model API cannot be reached (or the
// guest's body is over the cap: 413).
func (e *egress) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if cw, ok := w.(*countingWriter); ok {
		cw.note = err.Error()
	}
	if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
		apiError(w, http.StatusRequestEntityTooLarge, "request_too_large", "egress: request body over 64 MiB")
		return
	}
	apiError(w, http.StatusBadGateway, "api_error", "egress: the model API cannot be reached")
}

// logCall is the call's one [egress] line: method, path, status, bytes
// sent back, duration; the guest's bytes are shown escaped and the path
// cut short.
func (e *egress) logCall(r *http.Request, cw *countingWriter, d time.Duration) {
	path := r.URL.EscapedPath()
	if len(path) > egressMaxLoggedPath {
		path = path[:egressMaxLoggedPath] + "…"
	}
	line := fmt.Sprintf("%s %s %d %d bytes %s", display.Visible(r.Method), display.Visible(path), cw.code(), cw.bytes,
		d.Round(time.Millisecond))
	if cw.note != "" {
		line += ": " + cw.note
	}
	if cw.code() >= 400 {
		e.log.Warn(line)
		return
	}
	e.log.Info(line)
}

// apiError answers in the Messages API's error shape, which Claude Code
// reads.
func apiError(w http.ResponseWriter, status int, kind, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`+"\n", kind, message)
}

// countingWriter records the status and counts the body bytes sent; Unwrap
// keeps the flushes of a stream working (http.ResponseController).
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	note   string // why the call failed, for the log
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.bytes += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) code() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

// serve answers TLS connections on ln with the certificate for
// bundle.EgressHost until ctx ends; streams in progress get a few seconds.
func (e *egress) serve(ctx context.Context, ln net.Listener, cert tls.Certificate) error {
	srv := &http.Server{
		Handler:           e,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          logrusErrors(e.log),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		return fmt.Errorf("egress: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	return nil
}

// logrusErrors routes net/http's own error lines (TLS handshakes the
// guest botched) to the log, escaped.
func logrusErrors(l logrus.FieldLogger) *log.Logger {
	return log.New(errorLineWriter{l}, "", 0)
}

type errorLineWriter struct{ l logrus.FieldLogger }

func (w errorLineWriter) Write(b []byte) (int, error) {
	line := strings.TrimRight(string(b), "\n")
	if strings.Contains(line, "TLS handshake error") && strings.HasSuffix(line, ": EOF") {
		return len(b), nil // a connection closed before a byte: the init's readiness check
	}
	w.l.Warn(line)
	return len(b), nil
}

func egressCommand() *cli.Command {
	return &cli.Command{
		Name:  "egress",
		Usage: "egress, the bottle's credential boundary",
		Subcommands: []*cli.Command{{
			Name:  "serve",
			Usage: "serve the guest's model requests over TLS until SIGTERM or SIGINT",
			Description: "Checks each request's bottle token ($" + bundle.EgressTokenEnv + "), replaces it with the user's\n" +
				"credential (the spec's egress.credential, from the environment) and forwards it to the\n" +
				"spec's egress.upstream; one log line per call. Listens on a loopback address only.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "listen", Required: true, Usage: "loopback IP:PORT to listen on"},
			},
			Action: serveEgress,
		}},
	}
}

func serveEgress(c *cli.Context) error {
	addr, err := netip.ParseAddrPort(c.String("listen"))
	if err != nil {
		return fmt.Errorf("egress: --listen: %w", err)
	}
	if !addr.Addr().IsLoopback() {
		return fmt.Errorf("egress: --listen %s: egress listens on the bundle's loopback only", addr)
	}
	p := pathsFrom(c)
	spec, err := p.loadSpec()
	if err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	if spec.Egress == nil {
		return errors.New("egress: the bundle spec has no egress section")
	}
	log := logrus.New()
	log.SetOutput(c.App.ErrWriter) // the init prefixes it into the bundle's log
	log.SetFormatter(visibleFormatter{&logrus.TextFormatter{DisableColors: true}})
	e, err := newEgress(*spec.Egress, os.Getenv, egressTransport(), log)
	if err != nil {
		return err
	}
	cert, err := p.loadEgressCert()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	log.Infof("listening on %s for %s; forwarding to %s with %s", ln.Addr(), bundle.EgressHost, e.upstream.Redacted(), e.cred.name)
	return e.serve(ctx, ln, cert)
}

// splitEnv takes the variables named in names out of env.
func splitEnv(env, names []string) (rest, taken []string) {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(names, name) {
			taken = append(taken, kv)
		} else {
			rest = append(rest, kv)
		}
	}
	return rest, taken
}

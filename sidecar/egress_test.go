package sidecar

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
)

const (
	testToken   = "sk-ant-api03-bottle-0123456789abcdef0123456789abcdef"
	realAPIKey  = "sk-ant-api03-REAL-user-key-never-in-the-guest"
	realOAuth   = "sk-ant-oat01-REAL-user-oauth-never-in-the-guest"
	guestsOwnID = "sk-ant-api03-the-guests-own-key"
)

// seen is what the fake model API received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
}

func (s *seen) all() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// egressFixture is egress in front of a fake model API (TLS, like the real
// one), with its log.
type egressFixture struct {
	egress *egress
	api    *httptest.Server
	seen   *seen
	url    string // egress's base URL
	log    *syncBuffer
}

// newEgressFixture starts a fake API answering with handler (nil: 200 "ok")
// and egress in front of it, for a credential of the given name; base is
// the upstream's path ("" or a gateway's "/gw").
func newEgressFixture(t *testing.T, cred, base string, handler http.HandlerFunc) *egressFixture {
	t.Helper()
	s := &seen{}
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.add(r)
		if handler != nil {
			handler(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(api.Close)
	values := map[string]string{bundle.APIKeyEnv: realAPIKey, bundle.OAuthTokenEnv: realOAuth, bundle.EgressTokenEnv: testToken}
	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetFormatter(visibleFormatter{&logrus.TextFormatter{DisableColors: true}})
	e, err := newEgress(bundle.EgressSpec{Upstream: api.URL + base, Credential: cred},
		func(k string) string { return values[k] }, api.Client().Transport, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &egressFixture{egress: e, api: api, seen: s, url: srv.URL, log: logs}
}

// call sends a request to egress with the given headers (name: value).
func (f *egressFixture) call(t *testing.T, method, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(`{"model":"claude"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestEgressSwapsTheToken: with the bottle token the request reaches the
// model API carrying the user's credential, as Claude Code sends that
// kind, and nothing the guest put in the credential headers.
func TestEgressSwapsTheToken(t *testing.T) {
	for _, c := range []struct {
		name, cred, base string
		headers          []string
		wantHeader       map[string]string
		wantPath         string
	}{
		{"api key", bundle.APIKeyEnv, "", []string{"X-Api-Key: " + testToken, "Anthropic-Version: 2023-06-01"},
			map[string]string{"X-Api-Key": realAPIKey, "Authorization": "", "Anthropic-Version": "2023-06-01"}, "/v1/messages"},
		{"oauth token", bundle.OAuthTokenEnv, "", []string{"Authorization: Bearer " + testToken, "Anthropic-Beta: oauth-2025-04-20"},
			map[string]string{"Authorization": "Bearer " + realOAuth, "X-Api-Key": "", "Anthropic-Beta": "oauth-2025-04-20"}, "/v1/messages"},
		{"the guest's own credential is dropped", bundle.APIKeyEnv, "",
			[]string{"X-Api-Key: " + testToken, "Authorization: Bearer " + guestsOwnID},
			map[string]string{"X-Api-Key": realAPIKey, "Authorization": ""}, "/v1/messages"},
		{"a gateway's base path", bundle.APIKeyEnv, "/gw/anthropic", []string{"Authorization: bearer " + testToken},
			map[string]string{"X-Api-Key": realAPIKey, "Authorization": ""}, "/gw/anthropic/v1/messages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newEgressFixture(t, c.cred, c.base, nil)
			resp, body := f.call(t, "POST", "/v1/messages?beta=true", c.headers...)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			reqs := f.seen.all()
			if len(reqs) != 1 {
				t.Fatalf("the API got %d requests", len(reqs))
			}
			got := reqs[0]
			for k, v := range c.wantHeader {
				if got.Header.Get(k) != v || (v == "" && len(got.Header.Values(k)) > 0) {
					t.Errorf("%s = %q, want %q", k, got.Header.Values(k), v)
				}
			}
			if got.URL.Path != c.wantPath || got.URL.RawQuery != "beta=true" || got.Host != strings.TrimPrefix(f.api.URL, "https://") {
				t.Errorf("the API got %s ?%s Host %s", got.URL.Path, got.URL.RawQuery, got.Host)
			}
		})
	}
}

// TestEgressRefusesWithoutTheToken: no token, another bottle's, the real
// credential itself or the token in another header: 401 in the API's
// error shape, nothing reaches the model API, one log line says why and
// shows nothing that was offered.
func TestEgressRefusesWithoutTheToken(t *testing.T) {
	for _, c := range []struct {
		name    string
		headers []string
		why     string
	}{
		{"none", nil, "no bottle token"},
		{"another bottle's", []string{"X-Api-Key: sk-ant-api03-bottle-ffffffffffffffffffffffffffffffff"}, "not this bottle's token"},
		{"a prefix of it", []string{"X-Api-Key: " + testToken[:len(testToken)-1]}, "not this bottle's token"},
		{"it with more", []string{"Authorization: Bearer " + testToken + "0"}, "not this bottle's token"},
		{"the real key", []string{"X-Api-Key: " + realAPIKey}, "not this bottle's token"},
		{"not bearer", []string{"Authorization: Basic " + testToken}, "no bottle token"},
		{"another header", []string{"X-Token: " + testToken}, "no bottle token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newEgressFixture(t, bundle.APIKeyEnv, "", nil)
			resp, body := f.call(t, "POST", "/v1/messages", c.headers...)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"type":"authentication_error"`) {
				t.Errorf("status %d body %s", resp.StatusCode, body)
			}
			if n := len(f.seen.all()); n != 0 {
				t.Errorf("the API got %d requests", n)
			}
			log := f.log.String()
			if strings.Count(log, "\n") != 1 || !strings.Contains(log, "POST /v1/messages 401 ") || !strings.Contains(log, c.why) {
				t.Errorf("log:\n%s", log)
			}
			for _, secret := range []string{testToken[20:], realAPIKey, "ffffffff"} {
				if strings.Contains(log, secret) {
					t.Errorf("the log shows %s:\n%s", secret, log)
				}
			}
		})
	}
}

// TestEgressLogsOneLinePerCall: method, escaped path, status, bytes and
// duration; no header value, no body, no query.
func TestEgressLogsOneLinePerCall(t *testing.T) {
	f := newEgressFixture(t, bundle.APIKeyEnv, "", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "twelve bytes")
	})
	f.call(t, "POST", "/v1/messages/%1b%5b2J?q=secret-query", "X-Api-Key: "+testToken)
	log := f.log.String()
	if strings.Count(log, "\n") != 1 || !strings.Contains(log, `POST /v1/messages/%1b%5b2J 200 12 bytes `) {
		t.Errorf("log:\n%s", log)
	}
	for _, never := range []string{realAPIKey, testToken, "secret-query", `{"model"`, "twelve", "\x1b"} {
		if strings.Contains(log, never) {
			t.Errorf("the log shows %q:\n%s", never, log)
		}
	}
}

// TestEgressUpstreamErrors: the API's own errors reach the guest as they
// are (Claude Code's retries read them); an API that cannot be reached is
// a 502 in the API's shape, logged with the cause.
func TestEgressUpstreamErrors(t *testing.T) {
	overloaded := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	f := newEgressFixture(t, bundle.APIKeyEnv, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(529)
		io.WriteString(w, overloaded)
	})
	resp, body := f.call(t, "POST", "/v1/messages", "X-Api-Key: "+testToken)
	if resp.StatusCode != 529 || body != overloaded || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("upstream error: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	f = newEgressFixture(t, bundle.APIKeyEnv, "", nil)
	f.api.Close()
	resp, body = f.call(t, "POST", "/v1/messages", "X-Api-Key: "+testToken)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `"type":"api_error"`) {
		t.Errorf("API down: %d %s", resp.StatusCode, body)
	}
	if log := f.log.String(); !strings.Contains(log, "POST /v1/messages 502 ") || !strings.Contains(log, "connect") {
		t.Errorf("log:\n%s", log)
	}
}

// TestEgressCapsTheBody: a body over the cap is refused with 413, not
// forwarded whole.
func TestEgressCapsTheBody(t *testing.T) {
	f := newEgressFixture(t, bundle.APIKeyEnv, "", nil)
	f.egress.maxBody = 1 << 10
	req, _ := http.NewRequest("POST", f.url+"/v1/messages", strings.NewReader(strings.Repeat("x", 4<<10)))
	req.Header.Set("X-Api-Key", testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestEgressStreamsEvents: each server-sent event reaches the guest as the
// API sends it: the first arrives while the API still holds the second.
func TestEgressStreamsEvents(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(release) }) }
	f := newEgressFixture(t, bundle.APIKeyEnv, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "event: message_stop\ndata: {}\n\n")
	})
	t.Cleanup(done) // before the servers' Close, which waits for the handler
	first := make(chan string, 1)
	go func() { // headers and all: none of it reaches a client of a buffering proxy
		req, _ := http.NewRequest("POST", f.url+"/v1/messages", strings.NewReader("{}"))
		req.Header.Set("X-Api-Key", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "event: message_start\n" {
			t.Errorf("first line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event did not arrive while the API held the second: egress buffers the stream")
	}
	done()
}

// TestEgressCertificate: the CA signs egress's name alone (a name
// constraint), its key is not kept, the key egress serves with is 0600,
// and a second start keeps the set.
func TestEgressCertificate(t *testing.T) {
	p := paths{RunDir: t.TempDir()}
	if created, err := p.ensureEgressCert(time.Now()); err != nil || !created {
		t.Fatalf("created %v, %v", created, err)
	}
	entries, _ := os.ReadDir(p.egressDir())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "ca.pem cert.pem key.pem" {
		t.Errorf("egress dir holds %v (no CA key, no leftovers)", names)
	}
	if fi, _ := os.Stat(p.egressKey()); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o", fi.Mode().Perm())
	}
	ca, leaf := readCert(t, p.egressCACert()), readCert(t, p.egressCert())
	if !ca.IsCA || strings.Join(ca.PermittedDNSDomains, " ") != bundle.EgressHost || !ca.PermittedDNSDomainsCritical {
		t.Errorf("CA: IsCA %v, permitted %v", ca.IsCA, ca.PermittedDNSDomains)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: bundle.EgressHost, Roots: roots}); err != nil {
		t.Errorf("the leaf does not verify for %s: %v", bundle.EgressHost, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "api.anthropic.com", Roots: roots}); err == nil {
		t.Error("the leaf verifies for another name")
	}
	if _, err := p.loadEgressCert(); err != nil {
		t.Error(err)
	}
	before, _ := os.ReadFile(p.egressCACert())
	if created, err := p.ensureEgressCert(time.Now()); err != nil || created {
		t.Fatalf("second start: created %v, %v", created, err)
	}
	if after, _ := os.ReadFile(p.egressCACert()); string(after) != string(before) {
		t.Error("a second start replaced the CA the guest trusts")
	}
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEgressListensOnLoopbackOnly: serve refuses any other address, so a
// bundle's egress can never be reached from its networks.
func TestEgressListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", "172.18.0.2:8080", "egress.bottle.internal:8080"} {
		app := &cli.App{Name: "claude-bottle", Commands: []*cli.Command{Command()}, ErrWriter: io.Discard}
		err := app.Run([]string{"claude-bottle", "sidecar", "--spec", "/nonexistent", "egress", "serve", "--listen", addr})
		if err == nil || !strings.Contains(err.Error(), "--listen") {
			t.Errorf("--listen %s: %v", addr, err)
		}
	}
}

// BenchmarkEgressFirstByte measures the time to the first byte of a
// streamed answer, straight from the fake API and through egress (TLS on
// both hops, as in a bottle), with connections kept alive.
func BenchmarkEgressFirstByte(b *testing.B) {
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {}\n\n")
	}))
	defer api.Close()
	p := paths{RunDir: b.TempDir()}
	if _, err := p.ensureEgressCert(time.Now()); err != nil {
		b.Fatal(err)
	}
	cert, err := p.loadEgressCert()
	if err != nil {
		b.Fatal(err)
	}
	values := map[string]string{bundle.APIKeyEnv: realAPIKey, bundle.EgressTokenEnv: testToken}
	log := logrus.New()
	log.SetOutput(io.Discard)
	e, err := newEgress(bundle.EgressSpec{Upstream: api.URL, Credential: bundle.APIKeyEnv},
		func(k string) string { return values[k] }, api.Client().Transport, log)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go e.serve(b.Context(), ln, cert)
	roots := x509.NewCertPool()
	roots.AddCert(readCert(b, p.egressCACert()))
	viaEgress := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: bundle.EgressHost}}}
	for _, c := range []struct {
		name, url string
		client    *http.Client
	}{{"direct", api.URL, api.Client()}, {"egress", "https://" + ln.Addr().String(), viaEgress}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("POST", c.url+"/v1/messages", strings.NewReader("{}"))
				req.Header.Set("X-Api-Key", testToken)
				resp, err := c.client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				one := make([]byte, 1)
				if _, err := io.ReadFull(resp.Body, one); err != nil || resp.StatusCode != 200 {
					b.Fatalf("status %d: %v", resp.StatusCode, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// TestInitHandsTheCredentialToEgressOnly: in a running bundle the user's
// credential and the bottle token are in egress's environment and in no
// other daemon's; egress listens on the bundle's loopback with the
// certificate the init made, and refuses a request without the token.
func TestInitHandsTheCredentialToEgressOnly(t *testing.T) {
	t.Parallel()
	spec := bundle.Spec{Bottle: "t", Daemons: []string{bundle.Pipelock, bundle.Egress},
		Egress: &bundle.EgressSpec{Upstream: "https://api.anthropic.com", Credential: bundle.APIKeyEnv}}
	ti := newTestInit(t, spec, map[string]string{bundle.Pipelock: "listen=127.0.0.1:{port}"})
	ti.ports[bundle.Egress] = freePort(t)
	ti.env = append(ti.env, bundle.APIKeyEnv+"="+realAPIKey, bundle.EgressTokenEnv+"="+testToken)
	r := ti.start(t)
	ti.waitReady(t, r.done)
	for daemon, want := range map[string]bool{bundle.Pipelock: false, bundle.Egress: true} {
		environ, err := os.ReadFile("/proc/" + strconv.Itoa(ti.pid(t, daemon)) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{realAPIKey, testToken} {
			if got := strings.Contains(string(environ), secret); got != want {
				t.Errorf("%s's environment holds %s: %v, want %v", daemon, secret[:12], got, want)
			}
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, ti.egressCACert()))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: bundle.EgressHost}}}
	resp, err := client.Post("https://127.0.0.1:"+strconv.Itoa(ti.ports[bundle.Egress])+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if log := logEventually(ti.out, "POST /v1/messages 401 "); !strings.Contains(log, "[egress] ") || !strings.Contains(log, "POST /v1/messages 401 ") {
		t.Errorf("the bundle's log:\n%s", log)
	}
}

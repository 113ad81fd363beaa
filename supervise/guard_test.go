package supervise

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
)

func TestServedHost(t *testing.T) {
	for _, c := range []struct {
		hostport string
		want     bool
	}{
		{"supervise:9100", true},
		{"supervise", true},
		{"SUPERVISE:9100", true},
		{"localhost:9100", true},
		{"127.0.0.1:43567", true},
		{"10.0.0.2", true},
		{"[::1]:9100", true},
		{"[fd00::2]", true},
		{"", false},
		{"rebind.attacker.example:9100", false},
		{"supervise.attacker.example", false},
		{"localhost.", false},
		{"127.0.0.1.nip.io:9100", false},
		{"claude-bottle-b1-bundle:9100", false},
	} {
		if got := servedHost(c.hostport); got != c.want {
			t.Errorf("servedHost(%q) = %v, want %v", c.hostport, got, c.want)
		}
	}
}

// TestRebindingRefused: a web page that rebinds its own name to the
// bundle's published port (Host: its name, Origin: its origin) gets 403
// and no tool list; so does a foreign Origin with an allowed Host (finding
// 12: it got 200 and the tools). The agent's requests pass. The requests
// arrive as in the bundle, on its network address: the SDK's own guard
// only looks at requests that arrive on loopback.
func TestRebindingRefused(t *testing.T) {
	f := newFixture(t)
	srv := NewServer(f.store(t), testOptions)
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(onBundleAddress(srv.Handler()))
	t.Cleanup(ts.Close)
	url := ts.URL
	list := rpcBody(t, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
	for _, c := range []struct {
		name, host, origin string
		want               int
	}{
		{"rebound name", "rebind.attacker.example", "http://rebind.attacker.example", http.StatusForbidden},
		{"rebound name, no Origin", "rebind.attacker.example:9100", "", http.StatusForbidden},
		{"foreign Origin", "supervise:9100", "https://attacker.example", http.StatusForbidden},
		{"opaque Origin", "127.0.0.1:9100", "null", http.StatusForbidden},
		{"the agent on docker", "supervise:9100", "", http.StatusOK},
		{"the agent on smolmachines", "127.0.0.1:41234", "", http.StatusOK},
		{"an allowed Origin", "10.0.0.2:9100", "http://10.0.0.2:9100", http.StatusOK},
	} {
		status, body := mustPost(t, url, list, func(r *http.Request) {
			r.Host = c.host
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
		})
		if status != c.want {
			t.Errorf("%s: status %d, want %d (%q)", c.name, status, c.want, body)
		}
		if listed := strings.Contains(body, ToolRequestEgress); listed != (c.want == http.StatusOK) {
			t.Errorf("%s: tool list in the answer: %v (%q)", c.name, listed, body)
		}
	}
}

// onBundleAddress makes requests look as if they arrived on the bundle's
// address on the bottle network, not on the test's loopback.
func onBundleAddress(h http.Handler) http.Handler {
	addr := &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: bundle.SupervisePort}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(addr))))
	})
}

// TestSecretRequired is issue 14's attack on supervise: a local process
// that reaches its published port but was not given the bottle's secret —
// none in the path, a wrong one, one off by a character, the secret deeper
// in the path or in the query — gets 403 and no tool list, and its guess
// is not logged; the agent's URL (/SECRET/) is served. Before the check,
// every one of them got the tools.
func TestSecretRequired(t *testing.T) {
	const secret = "00112233445566778899aabbccddeeff"
	f := newFixture(t)
	var logs strings.Builder
	log := logrus.New()
	log.SetOutput(&logs)
	opts := testOptions
	opts.Secret, opts.Log = secret, log
	srv := NewServer(f.store(t), opts)
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(onBundleAddress(srv.Handler()))
	t.Cleanup(ts.Close)
	list := rpcBody(t, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
	nearMiss := secret[:len(secret)-1] + "0"
	for _, c := range []struct {
		name, path string
		want       int
	}{
		{"no secret", "/", http.StatusForbidden},
		{"no secret, another path", "/mcp", http.StatusForbidden},
		{"a wrong secret", "/ffeeddccbbaa99887766554433221100/", http.StatusForbidden},
		{"a near miss", "/" + nearMiss + "/", http.StatusForbidden},
		{"the secret deeper", "/x/" + secret + "/", http.StatusForbidden},
		{"the secret in the query", "/?s=" + secret, http.StatusForbidden},
		{"the agent's URL", "/" + secret + "/", http.StatusOK},
		{"the agent's URL, no slash", "/" + secret, http.StatusOK},
	} {
		status, body := mustPost(t, ts.URL+c.path, list, func(r *http.Request) { r.Host = "127.0.0.1:9100" })
		if status != c.want {
			t.Errorf("%s: status %d, want %d (%q)", c.name, status, c.want, body)
		}
		if listed := strings.Contains(body, ToolRequestEgress); listed != (c.want == http.StatusOK) {
			t.Errorf("%s: tool list in the answer: %v (%q)", c.name, listed, body)
		}
	}
	// The secret checked first: a foreign Host without it learns nothing more.
	if status, _ := mustPost(t, ts.URL+"/", list, func(r *http.Request) { r.Host = "rebind.attacker.example" }); status != http.StatusForbidden {
		t.Errorf("no secret, foreign Host: %d", status)
	}
	if strings.Contains(logs.String(), nearMiss) || strings.Contains(logs.String(), secret) || !strings.Contains(logs.String(), "does not carry this bottle's secret") {
		t.Errorf("supervise's log:\n%s", logs.String())
	}
}

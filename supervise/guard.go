package supervise

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/display"
)

// Host names the agent reaches supervise by, besides IP literals: the
// bottle network's alias of the bundle (docker), and loopback.
var servedNames = []string{"supervise", "localhost"}

// guardHosts answers 403 to a request whose Host, or whose Origin if it has
// one, names a host supervise is not served as: against DNS rebinding, where
// a web page in the operator's browser resolves its own name to the
// published port and posts to it (the SDK's guard only covers requests
// that arrive on loopback, and the bundle's arrive on its network address).
// Allowed: IP literals (v4, v6), supervise and localhost, on any port. No
// Origin is fine: Claude Code's client sends none, browsers always do.
func guardHosts(h http.Handler, log logrus.FieldLogger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkHosts(r); err != nil {
			log.Warn(display.Visible(err.Error()))
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkHosts checks the request's Host and Origin headers.
func checkHosts(r *http.Request) error {
	if !servedHost(r.Host) {
		return fmt.Errorf("supervise: Host %q is not allowed (an IP address, supervise or localhost)", r.Host)
	}
	for _, origin := range r.Header.Values("Origin") {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !servedHost(u.Host) {
			return fmt.Errorf("supervise: Origin %q is not allowed (http or https, and an IP address, supervise or localhost)", origin)
		}
	}
	return nil
}

// servedHost reports whether hostport (host or host:port, IPv6 in
// brackets) names supervise.
func servedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, name := range servedNames {
		if strings.EqualFold(host, name) {
			return true
		}
	}
	return false
}

// guardSecret answers 403 to a request whose path does not start with the
// bottle's secret (/SECRET/…, the URL the agent's MCP registration holds):
// on smolmachines supervise's port is on the host's loopback, where any
// local process can reach it, and only the bottle's guest was given the
// secret (bundle/secret.go). The refusal logs neither the path nor the
// guess in it.
func guardSecret(h http.Handler, secret string, log logrus.FieldLogger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if !bundle.SecretMatches(first, secret) {
			log.Warnf("supervise: refused a request from %s: it does not carry this bottle's secret", r.RemoteAddr)
			http.Error(w, "supervise: the request does not carry this bottle's secret (want /SECRET/)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The suite's model credential (newEnv's ANTHROPIC_API_KEY): it must reach
// the fake model API and appear nowhere in a guest.
const realKey = "sk-ant-e2e-secret-value"

// fakeAPI starts the fake model API (e2e/fakeapi) on the bridge with a
// certificate for its IP from the e2e test CA, which the test bundle
// trusts; it returns the API's base URL.
func fakeAPI(t *testing.T, name string) string {
	t.Helper()
	label := "claude-bottle.name=" + name
	t.Cleanup(func() { sweep(t, label) })
	script := certScript + `exec /fakeapi -listen :8443 -cert /tmp/c.pem -key /tmp/k.pem`
	run(t, "docker", "create", "--name", name, "--label", label, "--label", "claude-bottle.role=e2e-service", toolsImage, "sh", "-c", script)
	run(t, "docker", "cp", filepath.Join(bins.dir, "fakeapi"), name+":/fakeapi")
	run(t, "docker", "start", name)
	ip := run(t, "docker", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name)
	waitFor(t, "fake model API", 30*time.Second, func() error {
		_, err := try("docker", "exec", name, "curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:8443/")
		return err
	})
	return "https://" + ip + ":8443"
}

// apiCall is one request the fake model API received.
type apiCall struct {
	Method, Path, Query, Body string
	APIKey                    string `json:"x-api-key"`
	Authorization             string `json:"authorization"`
}

func apiCalls(t *testing.T, name string) []apiCall {
	t.Helper()
	var calls []apiCall
	sc := bufio.NewScanner(strings.NewReader(run(t, "docker", "logs", name)))
	for sc.Scan() {
		var c apiCall
		if json.Unmarshal(sc.Bytes(), &c) == nil && c.Method != "" && c.Path != "/" { // not fakeAPI's readiness probe
			calls = append(calls, c)
		}
	}
	return calls
}

// TestEgressDocker and TestEgressSmolmachines: the guest uses the model
// API with its bottle token and never holds the user's credential.
func TestEgressDocker(t *testing.T) { testEgress(t, false) }

func TestEgressSmolmachines(t *testing.T) { testEgress(t, true) }

func testEgress(t *testing.T, smol bool) {
	tag := uniq()
	apiName := "e2e-api-" + tag
	api := fakeAPI(t, apiName)
	e := newEnv(t, smol)
	e.env = append(e.env, "ANTHROPIC_BASE_URL="+api) // the host's own endpoint: egress's upstream
	name := "e2e-eg-" + tag
	e.stopAtEnd(name)
	args := []string{"launch", "--detach", "--name", name}
	g := guest{t: t, container: "claude-bottle-" + name + "-agent"}
	if smol {
		args = append([]string{"--backend", "smolmachines"}, append(args, "--smolvm-net", "tsi")...)
		g.container = "smolvm-claude-bottle-" + name + "-agent"
	}
	if out := e.mustCB(args...); out != name {
		t.Fatalf("launch printed %q", out)
	}
	bundle := "claude-bottle-" + name + "-bundle"
	token := g.must("node", "printf %s \"$ANTHROPIC_API_KEY\"")
	if !strings.HasPrefix(token, "sk-ant-api03-bottle-") || token == realKey {
		t.Fatalf("the guest's ANTHROPIC_API_KEY is %q, want a bottle token", token)
	}
	if got := g.must("node", "printf %s \"$ANTHROPIC_BASE_URL\""); got != "https://egress.bottle.internal:8080" {
		t.Errorf("the guest's ANTHROPIC_BASE_URL is %q", got)
	}
	messages := `curl -sS -N -m 30 -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' ` +
		`-d '{"model":"claude-e2e","stream":true}' "$ANTHROPIC_BASE_URL/v1/messages?beta=true" -w '\n%{http_code}'`

	t.Run("the model through egress", func(t *testing.T) {
		out := g.must("node", messages+` -H "x-api-key: $ANTHROPIC_API_KEY"`)
		if !strings.Contains(out, "event: message_start") || !strings.Contains(out, "event: message_stop") || !strings.HasSuffix(out, "200") {
			t.Errorf("the guest got:\n%s", out)
		}
		calls := apiCalls(t, apiName)
		if len(calls) != 1 {
			t.Fatalf("the model API got %d calls: %+v", len(calls), calls)
		}
		c := calls[0]
		if c.APIKey != realKey || c.Authorization != "" || c.Path != "/v1/messages" || c.Query != "beta=true" || c.Body != `{"model":"claude-e2e","stream":true}` {
			t.Errorf("the model API got %+v, want the user's key, the guest's path and body", c)
		}
	})
	t.Run("node trusts egress", func(t *testing.T) {
		// Claude Code is node: with NODE_EXTRA_CA_CERTS (the file holds
		// egress's CA and pipelock's) it verifies egress's certificate
		// through pipelock's tunnel.
		script := `const http = require("http"), tls = require("tls"); const u = new URL(process.env.HTTPS_PROXY);
http.request({host: u.hostname, port: u.port, method: "CONNECT", path: "egress.bottle.internal:8080"}).on("connect", (res, sock) => {
  const s = tls.connect({socket: sock, servername: "egress.bottle.internal"}, () => { console.log("verified"); process.exit(0); });
  s.on("error", e => { console.log(e.message); process.exit(1); });
}).end();`
		if out := g.must("node", "node -e '"+script+"'"); out != "verified" {
			t.Errorf("node: %s", out)
		}
	})
	t.Run("a wrong token is refused", func(t *testing.T) {
		for _, key := range []string{"sk-ant-api03-bottle-" + strings.Repeat("0", 64), realKey[:10]} {
			out, _ := g.sh("node", messages+" -H 'x-api-key: "+key+"'")
			if !strings.HasSuffix(out, "401") || !strings.Contains(out, "authentication_error") {
				t.Errorf("with %s… the guest got:\n%s", key[:12], out)
			}
		}
		if n := len(apiCalls(t, apiName)); n != 1 {
			t.Errorf("a refused call reached the model API (%d calls)", n)
		}
	})
	t.Run("the credential is nowhere in the guest", func(t *testing.T) {
		g.must("node", "claude -p 'hello from e2e'") // the stand-in logs its argv
		if found := g.must("root", "grep -rlsF '"+realKey+"' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev || true"); found != "" {
			t.Errorf("the credential is in the guest's files: %s", found)
		}
		for _, user := range []string{"root", "node"} { // each reads its own processes' environments
			g.must(user, "sleep 60 >/dev/null 2>&1 &")
			environ := g.must(user, `for f in /proc/[0-9]*/environ; do { tr '\0' '\n' < "$f"; } 2>/dev/null; done; true`)
			if strings.Contains(environ, realKey) {
				t.Errorf("the credential is in the environment of one of %s's processes", user)
			}
			if !strings.Contains(environ, "ANTHROPIC_API_KEY="+token) {
				t.Errorf("%s's processes do not hold the bottle token: the check read nothing", user)
			}
		}
		if env := run(t, "docker", "inspect", "--format", "{{json .Config.Env}}", g.container); strings.Contains(env, realKey) {
			t.Error("the guest's container was created with the credential")
		}
	})
	t.Run("egress is the bundle's, on its loopback", func(t *testing.T) {
		if out, _ := try("docker", "port", bundle); strings.Contains(out, "8080") {
			t.Errorf("the bundle publishes egress's port: %s", out)
		}
		// From the host, on each of the bundle's networks and on loopback: a
		// TLS handshake that egress's certificate would pass (a TCP connect
		// proves nothing where the host's gateway accepts every port).
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(run(t, "docker", "exec", bundle, "cat", "/run/claude-bottle/egress/ca.pem"))) {
			t.Fatal("no egress CA in the bundle")
		}
		ips := run(t, "docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", bundle)
		for _, ip := range append(strings.Fields(ips), "127.0.0.1") {
			d := &net.Dialer{Timeout: 2 * time.Second}
			conf := &tls.Config{RootCAs: roots, ServerName: "egress.bottle.internal"}
			if conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(ip, "8080"), conf); err == nil {
				conn.Close()
				t.Errorf("the host reaches egress at %s:8080", ip)
			}
		}
		proxy := g.must("node", "printf %s \"$HTTPS_PROXY\"")
		for _, target := range []string{"https://127.0.0.1:8080/", "https://localhost:8080/", "https://api.anthropic.com/"} {
			out, _ := g.sh("node", "curl -sS -m 10 -k -o /dev/null -w '%{http_code}' --proxy "+proxy+" "+target+" 2>&1")
			if strings.HasSuffix(out, "200") {
				t.Errorf("through pipelock the guest reached %s: %s", target, out)
			}
		}
		if !smol { // the bundle's address on the bottle network, not through the proxy
			if out, err := g.sh("node", "curl -sS -m 10 -k --noproxy '*' https://pipelock:8080/ 2>&1"); err == nil {
				t.Errorf("the guest reaches the bundle's 8080 directly: %s", out)
			}
		}
		users, err := try("docker", "exec", bundle, "sh", "-c", `for p in /proc/[0-9]*; do printf '%s %s\n' "$(sed -n 's/^Uid:\t\([0-9]*\).*/\1/p' $p/status)" "$(tr '\0' ' ' < $p/cmdline)"; done`)
		must(t, err)
		if !strings.Contains(users, "10004 /usr/local/bin/claude-bottle sidecar") || !strings.Contains(users, "egress serve --listen 127.0.0.1:8080") {
			t.Errorf("egress does not run as its user on the loopback:\n%s", users)
		}
		if got, _ := try("docker", "exec", bundle, "stat", "-c", "%U %a", "/run/claude-bottle/egress/key.pem"); got != "egress 600" {
			t.Errorf("egress's key: %q", got)
		}
		pid := run(t, "docker", "exec", bundle, "cat", "/run/claude-bottle/pipelock.pid")
		if env, err := try("docker", "exec", "-u", "pipelock", bundle, "sh", "-c", "tr '\\0' '\\n' < /proc/"+pid+"/environ"); err != nil || strings.Contains(env, realKey) || strings.Contains(env, token) {
			t.Errorf("pipelock's environment holds the credential or the token (%v)", err)
		}
	})
	t.Run("logs", func(t *testing.T) {
		out := e.mustCB("logs", name)
		if !strings.Contains(out, "[egress] ") || !strings.Contains(out, "POST /v1/messages 200 ") || !strings.Contains(out, "POST /v1/messages 401 ") {
			t.Errorf("the bundle's log lacks egress's lines:\n%s", out)
		}
		if strings.Contains(out, realKey) || strings.Contains(out, token) {
			t.Error("the bundle's log shows the credential or the token")
		}
	})
}

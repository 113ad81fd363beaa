//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// gitconfigSecret finds the bottle's secret in the gate URLs of a guest's
// gitconfig ([url "git://HOST/SECRET/NAME.git"]).
var gitconfigSecret = regexp.MustCompile(`\[url "git://[^/"]+/([0-9a-f]{32})/[A-Za-z0-9_-]+\.git"\]`)

// guestSecret is the bottle's secret as the guest got it, from its gitconfig.
func guestSecret(t *testing.T, g guest) string {
	t.Helper()
	m := gitconfigSecret.FindStringSubmatch(g.must("node", "cat /home/node/.gitconfig"))
	if m == nil {
		t.Fatal("the guest's gitconfig has no gate URL with the bottle's secret")
	}
	return m[1]
}

// superviseURL is supervise's URL as the guest's MCP registration got it.
func superviseURL(t *testing.T, g guest) string {
	t.Helper()
	return g.must("node", "cat /home/node/.claude-bottle-supervise-url")
}

// checkPublishedPorts is issue 14's attack from the host: a local process
// that reaches the gate's and supervise's published ports on loopback but
// was not given the bottle's secret is refused by both; with the secret
// (as the guest has it) both serve. pipelock's port is the exception
// (README, Limits).
func checkPublishedPorts(t *testing.T, g guest, w *world, bundle string) {
	t.Run("published ports want the secret", func(t *testing.T) {
		secret := guestSecret(t, g)
		gate := "git://" + run(t, "docker", "port", bundle, "9418/tcp")
		for _, url := range []string{gate + "/origin.git", gate + "/" + strings.Repeat("0", 32) + "/origin.git"} {
			out, err := gitOnHost("ls-remote", url)
			if err == nil || !strings.Contains(out, "does not carry this bottle's secret") {
				t.Errorf("git ls-remote %s from the host: %v\n%s", url, err, out)
			}
		}
		if out, err := gitOnHost("ls-remote", gate+"/"+secret+"/origin.git"); err != nil || !strings.Contains(out, w.head+"\trefs/heads/main") {
			t.Errorf("git ls-remote with the secret: %v\n%s", err, out)
		}

		sup := "http://" + run(t, "docker", "port", bundle, "9100/tcp")
		for _, path := range []string{"/", "/" + strings.Repeat("0", 32) + "/", "/mcp"} {
			if code, body := listTools(t, sup+path); code != http.StatusForbidden || strings.Contains(body, "request_egress") {
				t.Errorf("supervise %s from the host: %d %q", path, code, body)
			}
		}
		if code, body := listTools(t, sup+"/"+secret+"/"); code != http.StatusOK || !strings.Contains(body, "request_egress") {
			t.Errorf("supervise with the secret: %d %q", code, body)
		}
	})
}

// gitOnHost runs git on the host, outside any repository or user config.
func gitOnHost(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(cmd.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// listTools posts an MCP tools/list to url, as a client of the stateless
// server does, and returns the status and body.
func listTools(t *testing.T, url string) (int, string) {
	t.Helper()
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkSecretNotLogged: the bottle's secret is in neither the launch's log
// (at debug level: every command and the files placed) nor the bundle's.
func checkSecretNotLogged(t *testing.T, e *bottleEnv, g guest, name, launchLog string, backend ...string) {
	t.Run("secret not logged", func(t *testing.T) {
		secret := guestSecret(t, g)
		if !strings.Contains(launchLog, "level=debug") {
			t.Fatalf("the launch's log is not at debug level:\n%s", launchLog)
		}
		if strings.Contains(launchLog, secret) {
			t.Errorf("the launch's log holds the bottle's secret")
		}
		if !strings.Contains(launchLog, "<bottle-secret>") {
			t.Errorf("the launch's debug log does not show the gitconfig with the placeholder")
		}
		if logs := e.mustCB(append(backend, "logs", name)...); strings.Contains(logs, secret) {
			t.Errorf("the bundle's log holds the bottle's secret")
		}
	})
}

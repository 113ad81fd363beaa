//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSmolmachinesBottle runs the smolmachines backend against the smolvm
// stand-in, whose guest shares the host's network namespace (as TSI does):
// the agent reaches pipelock, the gate and supervise at 127.0.0.1 on the
// ports docker published — the seed's fix, end to end — and provisioning
// leaves the same guest state as on docker.
func TestSmolmachinesBottle(t *testing.T) {
	tag := uniq()
	w := newWorld(t, tag)
	e := newEnv(t, true)
	name := "e2e-s-" + tag
	e.stopAtEnd(name)
	// At debug level: every command and file the launch places is logged,
	// and none may show the bottle's secret (checkSecretNotLogged).
	out, launchLog, err := e.cb(append([]string{"--log-level", "debug", "--backend", "smolmachines"}, append(w.launchArgs(name), "--smolvm-net", "tsi")...)...)
	if err != nil || out != name {
		t.Fatalf("launch printed %q, %v:\n%s", out, err, launchLog)
	}
	g := guest{t: t, container: "smolvm-claude-bottle-" + name + "-agent"}
	bundle := "claude-bottle-" + name + "-bundle"

	t.Run("loopback URLs", func(t *testing.T) {
		secret := guestSecret(t, g)
		proxy := "http://" + run(t, "docker", "port", bundle, "8888/tcp")
		gate := "git://" + run(t, "docker", "port", bundle, "9418/tcp")
		sup := "http://" + run(t, "docker", "port", bundle, "9100/tcp")
		for _, v := range []string{proxy, gate, sup} {
			if !strings.HasPrefix(v, "http://127.0.0.1:") && !strings.HasPrefix(v, "git://127.0.0.1:") {
				t.Errorf("docker published %s, not on loopback", v)
			}
		}
		if got := g.must("node", "echo $HTTPS_PROXY"); got != proxy {
			t.Errorf("guest HTTPS_PROXY = %s, want %s", got, proxy)
		}
		if got := g.must("node", "git ls-remote --get-url "+w.upURL); got != gate+"/"+secret+"/origin.git" {
			t.Errorf("the guest's gitconfig sends origin to %s, want %s/SECRET/origin.git", got, gate)
		}
		if got := superviseURL(t, g); got != sup+"/"+secret+"/" {
			t.Errorf("the guest's supervise URL is %s, want %s/SECRET/", got, sup)
		}
		if env := g.must("node", "env"); strings.Contains(env, secret) {
			t.Errorf("the bottle's secret is in the guest's environment (an argv on the host)")
		}
		var ls []map[string]any
		out := e.mustCB("--backend", "smolmachines", "ls", "--json")
		must(t, json.Unmarshal([]byte(out), &ls))
		found := false
		for _, b := range ls {
			found = found || b["name"] == name
		}
		if !found {
			t.Errorf("ls --json does not list %s:\n%s", name, out)
		}
	})
	t.Run("DNS filter", func(t *testing.T) {
		// smolvm forwards every guest query upstream under a CIDR-only policy
		// (issue 10, finding 10); the launch's --allow-host localhost turns
		// its filter on, which the stand-in models in the guest's resolver.
		if got := g.must("root", "cat /etc/resolv.conf"); !strings.Contains(got, "DNS filter") {
			t.Fatalf("the guest's resolver is not the DNS filter's:\n%s", got)
		}
		if _, err := g.sh("node", "getent hosts leak-"+tag+".example.invalid"); err == nil {
			t.Error("a name off the allowlist resolved in the guest")
		}
		if out, err := g.sh("node", "getent hosts localhost"); err != nil || !strings.Contains(out, "127.0.0.1") {
			t.Errorf("localhost: %q %v", out, err)
		}
	})
	checkProvisioned(t, g, w, superviseURL(t, g))
	checkEgress(t, g, w)
	checkGit(t, g, w)
	checkSupervise(t, e, g, w, name)
	checkPublishedPorts(t, g, w, bundle)
	checkSecretNotLogged(t, e, g, name, launchLog, "--backend", "smolmachines")

	t.Run("stop", func(t *testing.T) {
		e.mustCB("--backend", "smolmachines", "stop", name)
		if left := leftovers(t, name); left != "" {
			t.Errorf("left behind:\n%s", left)
		}
	})
}

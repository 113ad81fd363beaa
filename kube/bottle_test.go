package kube

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func testBottle() Bottle {
	return Bottle{Name: "demo", Namespace: "claude-bottle-demo", RoleLabel: "claude-bottle.role",
		Labels:     map[string]string{"claude-bottle.name": "demo", "claude-bottle.backend": "kubernetes"},
		AgentImage: "agent:1", BundleImage: "bundle:1", PullPolicy: "IfNotPresent",
		Ports:         []Port{{"pipelock", 8888}, {"git-gate", 9418}, {"supervise", 9100}},
		Files:         []byte("archive holding the-bottle-secret-0123456789"),
		BundleEnv:     []SecretEnv{{"ANTHROPIC_API_KEY", "sk-ant-kube-test-credential"}, {"CLAUDE_BOTTLE_EGRESS_TOKEN", "sk-ant-kube-test-token"}},
		AgentEnv:      []SecretEnv{{"ANTHROPIC_API_KEY", "sk-ant-kube-test-token"}},
		AgentPlainEnv: []Env{{Name: "HTTPS_PROXY", Value: "http://pipelock:8888"}},
		AgentLimits:   Limits{MemoryMiB: 8192, CPUs: "2"}, BundleLimits: Limits{MemoryMiB: 1024, CPUs: "1"},
		BundleCommand: []string{"/bin/sh", "-c", "exec init"}, ReadyCommand: []string{"ready"},
	}
}

// objects are all of a bottle's objects, by kind and name.
func objects(t *testing.T, b Bottle) map[string]Object {
	t.Helper()
	out := map[string]Object{}
	for _, l := range []List{b.NamespaceObject(), b.BundleObjects(), b.AgentObjects("10.96.0.10")} {
		for _, o := range l.Items {
			key := o.Kind + "/" + o.Metadata.Name
			if _, dup := out[key]; dup {
				t.Fatalf("two objects %s", key)
			}
			out[key] = o
		}
	}
	return out
}

func subsetOf(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

// TestSelectorsMatchTheirPods: each policy selects its pod by labels the
// pod carries (and not the other pod), the agent's egress and the bundle's
// ingress name the other pod, the Service selects the bundle; the
// policies' ports are the Service's.
func TestSelectorsMatchTheirPods(t *testing.T) {
	objs := objects(t, testBottle())
	agent, bundle := objs["Pod/"+AgentPod].Metadata.Labels, objs["Pod/"+BundlePod].Metadata.Labels
	ap, bp := objs["NetworkPolicy/"+AgentPolicy].Spec.(PolicySpec), objs["NetworkPolicy/"+BundlePolicy].Spec.(PolicySpec)
	svc := objs["Service/"+BundleService].Spec.(ServiceSpec)
	checks := []struct {
		what      string
		sel, pod  map[string]string
		wantMatch bool
	}{
		{"agent policy selects the agent", ap.PodSelector.MatchLabels, agent, true},
		{"agent policy selects the bundle", ap.PodSelector.MatchLabels, bundle, false},
		{"bundle policy selects the bundle", bp.PodSelector.MatchLabels, bundle, true},
		{"bundle policy selects the agent", bp.PodSelector.MatchLabels, agent, false},
		{"the agent's egress goes to the bundle", ap.Egress[0].To[0].PodSelector.MatchLabels, bundle, true},
		{"the agent's egress goes to the agent", ap.Egress[0].To[0].PodSelector.MatchLabels, agent, false},
		{"the bundle's ingress comes from the agent", bp.Ingress[0].From[0].PodSelector.MatchLabels, agent, true},
		{"the bundle's ingress comes from the bundle", bp.Ingress[0].From[0].PodSelector.MatchLabels, bundle, false},
		{"the Service selects the bundle", svc.Selector, bundle, true},
		{"the Service selects the agent", svc.Selector, agent, false},
	}
	for _, c := range checks {
		if got := subsetOf(c.sel, c.pod); got != c.wantMatch {
			t.Errorf("%s: %v (selector %v, pod labels %v)", c.what, got, c.sel, c.pod)
		}
	}
	if len(ap.Ingress) != 0 || strings.Join(ap.PolicyTypes, ",") != "Ingress,Egress" {
		t.Errorf("the agent's policy: types %v, ingress %v: want both isolated, no ingress", ap.PolicyTypes, ap.Ingress)
	}
	var svcPorts []int
	for _, p := range svc.Ports {
		svcPorts = append(svcPorts, p.Port)
	}
	for _, rule := range []PolicyRule{ap.Egress[0], bp.Ingress[0]} {
		var ports []int
		for _, p := range rule.Ports {
			ports = append(ports, p.Port)
		}
		if !slices.Equal(ports, svcPorts) {
			t.Errorf("policy ports %v, Service ports %v", ports, svcPorts)
		}
	}
}

// TestPolicyBeforeAgent: the agent's policy is in the bundle's create,
// before the agent's Pod exists; namespace alone first.
func TestPolicyBeforeAgent(t *testing.T) {
	b := testBottle()
	if ns := b.NamespaceObject(); len(ns.Items) != 1 || ns.Items[0].Kind != "Namespace" || ns.Items[0].Metadata.Namespace != "" {
		t.Errorf("the namespace's create: %+v", ns.Items)
	}
	found := false
	for _, o := range b.BundleObjects().Items {
		found = found || (o.Kind == "NetworkPolicy" && o.Metadata.Name == AgentPolicy)
		if o.Kind == "Pod" && o.Metadata.Name == AgentPod {
			t.Errorf("the agent's Pod in the bundle's create")
		}
	}
	if !found {
		t.Errorf("the agent's policy is not created with the bundle's objects")
	}
}

// TestAgentPodHoldsNoToken: no service account token, no Secret volume, its
// secret variables by reference.
func TestAgentPodHoldsNoToken(t *testing.T) {
	pod := objects(t, testBottle())["Pod/"+AgentPod].Spec.(PodSpec)
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken %v, want false", pod.AutomountServiceAccountToken)
	}
	if len(pod.Volumes) != 0 {
		t.Errorf("the agent has volumes %+v", pod.Volumes)
	}
	for _, e := range pod.Containers[0].Env {
		if e.Name == "ANTHROPIC_API_KEY" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != AgentEnv) {
			t.Errorf("ANTHROPIC_API_KEY: %+v, want from the Secret %s", e, AgentEnv)
		}
	}
	if h := pod.HostAliases; len(h) != 1 || h[0].IP != "10.96.0.10" || strings.Join(h[0].Hostnames, " ") != "pipelock git-gate supervise" {
		t.Errorf("host aliases %+v", h)
	}
}

// TestRedactedShowsNoSecret: the notes show every object but no byte of a
// Secret's values, in the clear or as base64; the manifests kubectl reads
// hold them (base64).
func TestRedactedShowsNoSecret(t *testing.T) {
	b := testBottle()
	secrets := []string{"the-bottle-secret-0123456789", "sk-ant-kube-test-credential", "sk-ant-kube-test-token"}
	for _, l := range []List{b.BundleObjects(), b.AgentObjects("10.96.0.10")} {
		shown := strings.Join(l.Redacted([]string{"root 0600 /etc/claude-bottle/secret", "    content line"}), "\n")
		for _, s := range secrets {
			for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s))[:12]} {
				if strings.Contains(shown, form) {
					t.Errorf("the note shows %q:\n%s", form, shown)
				}
			}
		}
		if strings.Contains(shown, "content line") {
			t.Errorf("the files' listing shows a note's content:\n%s", shown)
		}
		if !strings.Contains(shown, "bytes, never shown") {
			t.Errorf("the note does not say what a Secret holds:\n%s", shown)
		}
		var redacted, real struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal([]byte(shown), &redacted); err != nil {
			t.Fatalf("the note is not JSON: %v", err)
		}
		if err := json.Unmarshal(l.JSON(), &real); err != nil {
			t.Fatal(err)
		}
		if len(redacted.Items) != len(real.Items) {
			t.Errorf("the note shows %d objects of %d", len(redacted.Items), len(real.Items))
		}
	}
	all := string(b.BundleObjects().JSON()) + string(b.AgentObjects("x").JSON())
	for _, s := range secrets[1:] {
		if strings.Contains(all, s) || !strings.Contains(all, base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Errorf("%q: want in the manifests as base64 only", s)
		}
	}
}

// TestNoEgressPort: 8080 is in no Service, container or policy port.
func TestNoEgressPort(t *testing.T) {
	all := string(testBottle().BundleObjects().JSON()) + string(testBottle().AgentObjects("x").JSON())
	for _, bad := range []string{`"port": 8080`, `"containerPort": 8080`, `"targetPort": 8080`} {
		if strings.Contains(all, bad) {
			t.Errorf("%s in the manifests", bad)
		}
	}
}

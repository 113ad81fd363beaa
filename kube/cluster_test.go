package kube

import (
	"strings"
	"testing"
)

// TestCheck: a namespace name is a DNS label of at most 63 characters; the
// prefix counts.
func TestCheck(t *testing.T) {
	cases := []struct {
		prefix, bottle string
		ok             bool
	}{
		{DefaultPrefix, "demo", true},
		{DefaultPrefix, "a1-b2", true},
		{"", "demo", true},
		{DefaultPrefix, "Demo", false},
		{DefaultPrefix, "my_bottle", false},
		{DefaultPrefix, "dot.name", false},
		{DefaultPrefix, "ends-", false},
		{"", "-starts", false},
		{"Team-", "ok", false},
		{"", strings.Repeat("a", 63), true},
		{"", strings.Repeat("a", 64), false},
		{DefaultPrefix, strings.Repeat("a", 63-len(DefaultPrefix)), true},
		{DefaultPrefix, strings.Repeat("a", 64-len(DefaultPrefix)), false},
	}
	for _, c := range cases {
		err := Cluster{Prefix: c.prefix}.Check(c.bottle)
		if (err == nil) != c.ok {
			t.Errorf("prefix %q bottle %q: %v, want ok %v", c.prefix, c.bottle, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "is not a Kubernetes namespace name") {
			t.Errorf("prefix %q bottle %q: %v", c.prefix, c.bottle, err)
		}
	}
}

// TestKubectlArgv: the global flags before the verb, each only when set;
// exec names the pod's container and ends its flags with --.
func TestKubectlArgv(t *testing.T) {
	cases := []struct {
		got  []string
		want string
	}{
		{Cluster{}.Kubectl("", "get", "namespaces"), "kubectl get namespaces"},
		{Cluster{Context: "c"}.Kubectl("ns", "get", "pod", "agent"), "kubectl --context c --namespace ns get pod agent"},
		{Cluster{}.Exec("ns", AgentPod, true, true, []string{"sh", "-c", "x"}), "kubectl --namespace ns exec -i -t agent --container agent -- sh -c x"},
		{Cluster{}.Exec("ns", BundlePod, false, false, []string{"-i"}), "kubectl --namespace ns exec bundle --container bundle -- -i"},
	}
	for _, c := range cases {
		if got := strings.Join(c.got, " "); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	if (Cluster{Prefix: "p-"}).Namespace("b") != "p-b" {
		t.Errorf("the namespace is the prefix and the name")
	}
}

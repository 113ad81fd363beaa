package launch

import (
	"slices"
	"testing"
)

// capAdds are the --cap-add values of a docker flag list.
func capAdds(flags []string) []string {
	var out []string
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] == "--cap-add" {
			out = append(out, flags[i+1])
		}
	}
	return out
}

// TestKubeCapsAreDockers: the Pods keep exactly the capabilities the
// docker containers keep (one reason each, in limits.go).
func TestKubeCapsAreDockers(t *testing.T) {
	for _, c := range []struct {
		what       string
		kube, dock []string
	}{{"agent", kubeAgentCaps, capAdds(agentHardening())}, {"bundle", kubeBundleCaps, capAdds(bundleHardening())}} {
		k, d := slices.Sorted(slices.Values(c.kube)), slices.Sorted(slices.Values(c.dock))
		if !slices.Equal(k, d) {
			t.Errorf("%s: kubernetes keeps %v, docker %v", c.what, k, d)
		}
	}
}

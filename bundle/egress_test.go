package bundle

import (
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// egressSpec is a spec as the launch writes it with egress on (launch/egress.go).
func egressSpec() Spec {
	return Spec{Daemons: []string{Pipelock, Egress}, AllowHosts: EgressAllowHosts([]string{"pypi.org"}),
		Trust:  Trust{Domains: []string{EgressHost}, Passthrough: []string{EgressHost}},
		Egress: &EgressSpec{Upstream: "https://api.anthropic.com", Credential: APIKeyEnv}}
}

// TestPipelockWithEgress: egress's name is allowlisted, past the SSRF guard
// and passed through untouched (the guest's TLS ends at egress); the model
// hosts are on neither list, so the guest has no route to the model but
// egress; a re-render with an approved host keeps every trust setting
// (pipelock refuses a reload that widens trust).
func TestPipelockWithEgress(t *testing.T) {
	var c pipelockYAML
	cfg := PipelockFor(egressSpec(), "172.18.0.2", nil)
	if err := yaml.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.APIAllowlist, " "); got != "egress.bottle.internal pypi.org" {
		t.Errorf("allowlist %s", got)
	}
	if strings.Join(c.TrustedDomains, " ") != EgressHost || strings.Join(c.TLSInterception.PassthroughDomains, " ") != EgressHost {
		t.Errorf("trusted %v, passthrough %v", c.TrustedDomains, c.TLSInterception.PassthroughDomains)
	}
	for _, h := range append(append([]string{}, DefaultAllowHosts...), PassthroughDomains...) {
		if strings.Contains(string(cfg), h) {
			t.Errorf("the config still names %s:\n%s", h, cfg)
		}
	}
	var reloaded pipelockYAML
	if err := yaml.Unmarshal(PipelockFor(egressSpec(), "172.18.0.2", []string{"docs.example.org"}), &reloaded); err != nil {
		t.Fatal(err)
	}
	reloaded.APIAllowlist = c.APIAllowlist
	if a, b := renderPipelock(c), renderPipelock(reloaded); string(a) != string(b) {
		t.Errorf("the approval changed more than the allowlist:\n%s\n---\n%s", a, b)
	}
	values, order := keyPaths(string(cfg))
	for _, k := range order {
		if !pipelockSchema[k] {
			t.Errorf("key %s is not in pipelock's schema", k)
		}
	}
	if values["mode"] != "strict" || values["enforce"] != "true" {
		t.Errorf("mode %s enforce %s", values["mode"], values["enforce"])
	}
}

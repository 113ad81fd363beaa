package launch

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/claude-bottle/claude-bottle/bundle"
)

func TestParseAllowPrivate(t *testing.T) {
	for _, c := range []struct {
		in, host    string
		trust       bundle.Trust
		errContains string
	}{
		{in: "10.1.2.3", host: "10.1.2.3", trust: bundle.Trust{CIDRs: []string{"10.1.2.3/32"}}},
		{in: "169.254.169.254", host: "169.254.169.254", trust: bundle.Trust{CIDRs: []string{"169.254.169.254/32"}}},
		{in: "fd00::5", host: "fd00::5", trust: bundle.Trust{CIDRs: []string{"fd00::5/128"}}},
		{in: "::ffff:10.1.2.3", host: "10.1.2.3", trust: bundle.Trust{CIDRs: []string{"10.1.2.3/32"}}},
		{in: "10.20.0.0/16", trust: bundle.Trust{CIDRs: []string{"10.20.0.0/16"}}},
		{in: "Git.Corp.Example.", host: "git.corp.example", trust: bundle.Trust{Domains: []string{"git.corp.example"}}},
		{in: "*.corp.example", host: "*.corp.example", trust: bundle.Trust{Domains: []string{"*.corp.example"}}},
		{in: "10.20.0.5/16", errContains: "host bits set (did you mean 10.20.0.0/16?)"},
		{in: "0.0.0.0/0", errContains: "catch-all"},
		{in: "::/0", errContains: "catch-all"},
		{in: "127.0.0.1", errContains: "the bundle's own loopback"},
		{in: "0.0.0.0", errContains: "the bundle's own loopback"},
		{in: "::1", errContains: "the bundle's own loopback"},
		{in: "64.0.0.0/2", errContains: "holds the bundle's own loopback"},
		{in: "localhost", errContains: "the bundle's own loopback"},
		{in: "api.localhost", errContains: "the bundle's own loopback"},
		{in: "*.example", errContains: "a wildcard must name a domain"},
		{in: "*", errContains: "want an IP address, a CIDR"},
		{in: "https://git.corp.example", errContains: "want an IP address, a CIDR"},
		{in: "git.corp.example:443", errContains: "want an IP address, a CIDR"},
		{in: "fe80::1%eth0", errContains: "an address with a zone"},
		{in: "", errContains: "want an IP address, a CIDR"},
	} {
		host, trust, err := ParseAllowPrivate(c.in)
		if c.errContains != "" {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.errContains) {
				t.Errorf("ParseAllowPrivate(%q) = %v, want an InputError with %q", c.in, err, c.errContains)
			}
			continue
		}
		if err != nil || host != c.host || !slices.Equal(trust.CIDRs, c.trust.CIDRs) || !slices.Equal(trust.Domains, c.trust.Domains) {
			t.Errorf("ParseAllowPrivate(%q) = %q %+v %v, want %q %+v", c.in, host, trust, err, c.host, c.trust)
		}
	}
}

// TestAllowPrivateReachesTheSpec: --allow-private puts its addresses and
// names on the allowlist and in the spec's trust (a range in the trust
// only), which pipelock's config renders as trusted_domains and
// ssrf.ip_allowlist; without it, nothing is trusted.
func TestAllowPrivateReachesTheSpec(t *testing.T) {
	o := Options{Backend: Smolmachines, Name: "p", SmolvmNet: NetAuto, AgentImage: "a", BundleImage: "b",
		AllowHosts:   []string{"pypi.org"},
		AllowPrivate: []string{"10.1.2.3", "git.corp.example", "10.20.0.0/16", "10.1.2.3"},
		AgentLimits:  DefaultAgentLimits(), BundleLimits: DefaultBundleLimits()}
	getenv := func(string) (string, bool) { return "", false }
	p, err := Prepare(o, getenv, "x")
	if err != nil {
		t.Fatal(err)
	}
	spec := p.Bundle.Spec
	for _, h := range []string{"10.1.2.3", "git.corp.example", "pypi.org", "api.anthropic.com"} {
		if !slices.Contains(spec.AllowHosts, h) {
			t.Errorf("allow_hosts %v lacks %s", spec.AllowHosts, h)
		}
	}
	if slices.Contains(spec.AllowHosts, "10.20.0.0/16") {
		t.Errorf("a range is on the allowlist: %v", spec.AllowHosts)
	}
	if !slices.Equal(spec.Trust.CIDRs, []string{"10.1.2.3/32", "10.20.0.0/16"}) || !slices.Equal(spec.Trust.Domains, []string{"git.corp.example"}) {
		t.Errorf("trust = %+v", spec.Trust)
	}
	got := pipelockTrust(t, spec)
	if !slices.Equal(got.TrustedDomains, []string{"git.corp.example"}) || !slices.Equal(got.SSRF.IPAllowlist, []string{"10.1.2.3/32", "10.20.0.0/16"}) {
		t.Errorf("pipelock's trust = %+v", got)
	}

	o.AllowPrivate = nil
	if p, err = Prepare(o, getenv, "x"); err != nil {
		t.Fatal(err)
	}
	if got := pipelockTrust(t, p.Bundle.Spec); got.TrustedDomains != nil || got.SSRF.IPAllowlist != nil {
		t.Errorf("a launch without --allow-private trusts %+v", got)
	}
	o.AllowPrivate = []string{"127.0.0.1"}
	var ie *InputError
	if _, err := Prepare(o, getenv, "x"); !errors.As(err, &ie) {
		t.Errorf("--allow-private 127.0.0.1: %v, want an InputError", err)
	}
}

// trustKeys are pipelock's trust keys (its schema's names).
type trustKeys struct {
	TrustedDomains []string `yaml:"trusted_domains"`
	SSRF           struct {
		IPAllowlist []string `yaml:"ip_allowlist"`
	} `yaml:"ssrf"`
}

// pipelockTrust parses the trust keys of the pipelock config the spec renders.
func pipelockTrust(t *testing.T, spec bundle.Spec) trustKeys {
	t.Helper()
	var k trustKeys
	if err := yaml.Unmarshal(bundle.PipelockFor(spec, "0.0.0.0", nil), &k); err != nil {
		t.Fatal(err)
	}
	return k
}

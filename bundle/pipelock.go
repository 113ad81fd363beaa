package bundle

import (
	"net"
	"sort"
	"strconv"
	"strings"
)

// DefaultAllowHosts are the hosts Claude Code needs with its non-essential
// traffic off (the guest gets CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1; see
// the README's security section for why each is here, with sources).
// statsig.anthropic.com and sentry.io left Claude Code's list of required
// hosts on 2026-02-13 and accept data for any project: they are ways out, so
// they are not here. --allow-host adds to them.
var DefaultAllowHosts = []string{
	"api.anthropic.com",   // the API (and the WebFetch safety check)
	"claude.ai",           // claude.ai sign-in (subscription users)
	"platform.claude.com", // Console auth: OAuth exchange and refresh, the first-run check
}

// PassthroughDomains are spliced through pipelock without TLS interception.
// pipelock's passthrough wildcards do not match the apex, so both are listed.
var PassthroughDomains = []string{
	"anthropic.com",
	"*.anthropic.com",
	"claude.ai",
	"*.claude.ai",
	"claude.com",
	"*.claude.com",
}

// AllowHosts merges the defaults with extra hosts: lowercased, deduplicated, sorted.
func AllowHosts(extra []string) []string {
	return Hosts(append(append([]string{}, DefaultAllowHosts...), extra...))
}

// EgressAllowHosts is the allowlist when egress carries the model traffic:
// egress's name and the extra hosts, none of Claude Code's own (the guest's
// direct route to the model API closes; README, Security).
func EgressAllowHosts(extra []string) []string {
	return Hosts(append([]string{EgressHost}, extra...))
}

// Hosts lowercases, deduplicates and sorts host names.
func Hosts(hosts []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// PipelockSettings are what varies in pipelock's config.
type PipelockSettings struct {
	// Listen is host:port; the bundle picks the host at start (ListenPath).
	Listen string
	// AllowHosts is the allowlist, already merged (see AllowHosts).
	AllowHosts []string
	// TrustedDomains and TrustedCIDRs pass pipelock's SSRF guard, which
	// otherwise refuses private, loopback and link-local destinations
	// (trusted_domains, ssrf.ip_allowlist).
	TrustedDomains, TrustedCIDRs []string
	// Passthrough are spliced without TLS interception, besides
	// PassthroughDomains unless ModelViaEgress.
	Passthrough []string
	// ModelViaEgress: egress carries the model traffic, so the model hosts
	// are not passed through (one the user allows is inspected).
	ModelViaEgress bool
}

// PipelockFor is pipelock's config in a running bundle: the spec's hosts
// plus the approved ones, listening on listenHost. The init renders it at
// start; supervise's operator commands re-render it on approval, from the
// same spec, so a reload never changes a trust setting (pipelock refuses a
// reload that widens trust).
func PipelockFor(spec Spec, listenHost string, approved []string) []byte {
	hosts := append(append([]string(nil), spec.AllowHosts...), approved...)
	return PipelockConfig(PipelockSettings{
		Listen:         net.JoinHostPort(listenHost, strconv.Itoa(PipelockPort)),
		AllowHosts:     Hosts(hosts), // the spec's are merged already: with egress on, without the model hosts
		TrustedDomains: spec.Trust.Domains,
		TrustedCIDRs:   spec.Trust.CIDRs,
		Passthrough:    spec.Trust.Passthrough,
		ModelViaEgress: spec.Egress != nil,
	})
}

// PipelockConfig renders pipelock's YAML config: strict mode, forward proxy
// on, TLS interception with the per-bottle CA the bundle creates at start.
// strict and enforcing is what keeps pipelock from resolving a name that is
// not on the allowlist (checked against the real pipelock: issue 10).
func PipelockConfig(s PipelockSettings) []byte {
	passthrough := append([]string(nil), s.Passthrough...)
	if !s.ModelViaEgress {
		passthrough = append(append([]string(nil), PassthroughDomains...), passthrough...)
	}
	c := pipelockYAML{
		Version:        1,
		Mode:           "strict",
		Enforce:        true,
		APIAllowlist:   s.AllowHosts,
		TrustedDomains: s.TrustedDomains,
		FetchProxy:     pipelockFetchProxy{Listen: s.Listen},
		ForwardProxy:   pipelockForwardProxy{Enabled: true},
		TLSInterception: pipelockTLS{Enabled: true, CACert: PipelockCACert, CAKey: PipelockCAKey,
			PassthroughDomains: passthrough},
		RequestBodyScanning: pipelockBodyScanning{Enabled: true, Action: "block", ScanHeaders: true},
	}
	if len(s.TrustedCIDRs) > 0 {
		c.SSRF = &pipelockSSRF{IPAllowlist: s.TrustedCIDRs}
	}
	return renderPipelock(c)
}

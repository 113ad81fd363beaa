package main

import (
	"fmt"
	"net"
	"strings"
)

// pipelock's reload rule (luckyPipewrench/pipelock@408651293d): a reload is
// compared with the running config, every security downgrade is a warning
// (internal/config/reloadwarn.go:22, ValidateReload), and a config running
// in strict mode refuses a reload with any warning and keeps running as it
// was (internal/cli/runtime/server.go:1343-1353). Widening trust is a
// downgrade: a trusted domain or passthrough domain added, the IP allowlist
// grown. Adding a host to api_allowlist is not.

// reloadWarning is one downgrade, as pipelock names it.
type reloadWarning struct{ field, message string }

// reloadWarnings are the warnings of ValidateReload for the keys the
// stand-in reads, with pipelock's fields and messages.
func reloadWarnings(old, cur *Config) []reloadWarning {
	var w []reloadWarning
	add := func(field, format string, a ...any) {
		w = append(w, reloadWarning{field, fmt.Sprintf(format, a...)})
	}
	rank := map[string]int{"strict": 3, "balanced": 2, "audit": 1}
	if rank[cur.Mode] < rank[old.Mode] { // reloadwarn.go:26
		add("mode", "mode downgraded from %s to %s", old.Mode, cur.Mode)
	}
	if len(old.InternalRaw) > 0 && len(cur.InternalRaw) == 0 { // :57
		add("internal", "internal CIDR list emptied — SSRF protection disabled")
	}
	if old.Enforce && !cur.Enforce { // :65
		add("enforce", "enforcement disabled — switching to detect-only mode")
	}
	if old.ForwardEnabled && !cur.ForwardEnabled { // :137
		add("forward_proxy.enabled", "forward proxy disabled")
	}
	if old.TLSEnabled && !cur.TLSEnabled { // :260
		add("tls_interception.enabled", "TLS interception disabled — CONNECT tunnel body/header scanning lost")
	}
	if old.TLSEnabled && cur.TLSEnabled { // :268
		if added := domainsAdded(old.Passthrough, cur.Passthrough); len(added) > 0 {
			add("tls_interception.passthrough_domains", "passthrough domains added: %s — these CONNECT tunnels now bypass body scanning", strings.Join(added, ", "))
		}
	}
	if added := domainsAdded(old.TrustedDomains, cur.TrustedDomains); len(added) > 0 { // :292
		add("trusted_domains", "trusted domains added: %s — SSRF internal-IP check bypassed for these hosts", strings.Join(added, ", "))
	}
	if grown := ipAllowlistExpanded(old.IPAllowlistRaw, cur.IPAllowlistRaw); len(grown) > 0 { // :299
		add("ssrf.ip_allowlist", "SSRF IP allowlist expanded: %s — SSRF check bypassed for these IP ranges", strings.Join(grown, ", "))
	}
	if old.BodyScanning && !cur.BodyScanning { // :313
		add("request_body_scanning.enabled", "request body scanning disabled")
	}
	return w
}

// domainsAdded is passthroughDomainsAdded (reloadwarn.go:777): entries of
// cur not in old, ignoring case; order does not matter.
func domainsAdded(old, cur []string) []string {
	had := map[string]bool{}
	for _, d := range old {
		had[strings.ToLower(d)] = true
	}
	var added []string
	for _, d := range cur {
		if !had[strings.ToLower(d)] {
			added = append(added, d)
		}
	}
	return added
}

// ipAllowlistExpanded is ssrfIPAllowlistExpanded (reloadwarn.go:846): the
// CIDRs of cur that no CIDR of old already covers (same family, old's
// prefix as short or shorter).
func ipAllowlistExpanded(old, cur []string) []string {
	var olds []*net.IPNet
	for _, c := range old {
		if _, n, err := net.ParseCIDR(c); err == nil {
			olds = append(olds, n)
		}
	}
	var grown []string
	for _, c := range cur {
		_, n, err := net.ParseCIDR(c)
		if err != nil || !coveredBy(n, olds) {
			grown = append(grown, c)
		}
	}
	return grown
}

func coveredBy(n *net.IPNet, olds []*net.IPNet) bool {
	nOnes, nBits := n.Mask.Size()
	for _, o := range olds {
		oOnes, oBits := o.Mask.Size()
		if o.Contains(n.IP) && oBits == nBits && oOnes <= nOnes {
			return true
		}
	}
	return false
}

// reloadRefusal is why a reload from old to cur is refused (pipelock's
// error, server.go:1351), or "": only a strict config refuses downgrades.
func reloadRefusal(old, cur *Config) (string, []reloadWarning) {
	w := reloadWarnings(old, cur)
	if old.Mode == "strict" && len(w) > 0 {
		return "rejected: security downgrade from strict mode", w
	}
	return "", w
}

package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// The SSRF guard, as pipelock has it (luckyPipewrench/pipelock@408651293d):
// a destination is refused when it resolves to an address in the internal
// ranges, unless the name is trusted (trusted_domains) or the address is
// allowlisted (ssrf.ip_allowlist). It runs in every mode, after the
// allowlist (scanner.go:747, before any lookup) and again when the proxy
// dials (proxy.go:1799), so a name that rebinds between the two is caught.
//
// Not modelled: pipelock's decoding of hex, octal and integer IP spellings
// (scanner.go:846). The stand-in's resolver does not resolve them either,
// and a name that does not resolve is refused.

// coreInternal are the ranges pipelock always checks, whatever `internal`
// says (internal/scanner/core.go:149); mergedSSRFCIDRs (core.go:548) adds
// them to the configured ones.
var coreInternal = mustCIDRs(
	"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10",
)

func mustCIDRs(cidrs ...string) []*net.IPNet {
	var out []*net.IPNet
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

// dnsTimeout is checkSSRF's ceiling on a lookup (scanner.go:938).
const dnsTimeout = 5 * time.Second

// lookupHost resolves a name; tests swap it for a fixed table.
type lookupHost func(ctx context.Context, host string) ([]string, error)

// isTrustedDomain is pipelock's Scanner.IsTrustedDomain (scanner.go:500): an
// IP literal is never trusted by name, whatever trusted_domains says.
func (c *Config) isTrustedDomain(host string) bool {
	if net.ParseIP(host) != nil {
		return false
	}
	for _, p := range c.TrustedDomains {
		if matchDomain(host, p) {
			return true
		}
	}
	return false
}

// isIPAllowlisted is Scanner.IsIPAllowlisted (scanner.go:518).
func (c *Config) isIPAllowlisted(ip net.IP) bool {
	return inAny(ip, c.IPAllowlist)
}

// isInternal reports whether ip is in the core or the configured ranges
// (the scanner's check, mergedSSRFCIDRs).
func (c *Config) isInternal(ip net.IP) bool {
	return inAny(ip, coreInternal) || inAny(ip, c.Internal)
}

// isInternalIP is Scanner.IsInternalIP (scanner.go:482), the dial's check:
// the configured ranges only.
func (c *Config) isInternalIP(ip net.IP) bool {
	return inAny(ip, c.Internal)
}

func inAny(ip net.IP, nets []*net.IPNet) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// parseIP parses an address as pipelock does before a range check: the
// zone dropped (::1%eth0), IPv4-mapped IPv6 as IPv4.
func parseIP(s string) net.IP {
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	ip := net.ParseIP(s)
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// checkSSRF is Scanner.checkSSRF (scanner.go:895) with its safety net for
// an empty `internal`, checkCoreSSRFLiteral (core.go:576): the reason host
// is refused, or "". The lookup fails closed: a name that does not resolve
// is refused.
func (c *Config) checkSSRF(ctx context.Context, lookup lookupHost, host string) string {
	if len(c.Internal) == 0 {
		ip := parseIP(host)
		if ip != nil && inAny(ip, coreInternal) && !c.isIPAllowlisted(ip) {
			return fmt.Sprintf("core SSRF: %s is a private/internal IP address", host)
		}
		return ""
	}
	dctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	ips, err := lookup(dctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return "request context cancelled"
		}
		return fmt.Sprintf("SSRF check failed: DNS resolution error for %s: %v", host, err)
	}
	if c.isTrustedDomain(host) {
		return ""
	}
	for _, s := range ips {
		if ip := parseIP(s); ip != nil && c.isInternal(ip) && !c.isIPAllowlisted(ip) {
			return fmt.Sprintf("SSRF blocked: %s resolves to internal IP %s", host, s)
		}
	}
	return ""
}

// safeDial is Proxy.ssrfSafeDialContext (proxy.go:1799): the check again at
// connection time, on a fresh lookup, then a dial of the first address.
func (c *Config) safeDial(ctx context.Context, lookup lookupHost, d *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("ssrfSafeDialContext: split addr %q: %w", addr, err)
	}
	if ip := parseIP(host); ip != nil {
		if c.isInternalIP(ip) && !c.isIPAllowlisted(ip) {
			return nil, fmt.Errorf("SSRF blocked: connection to internal IP %s", host)
		}
		return d.DialContext(ctx, network, addr)
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("ssrfSafeDialContext: DNS lookup %q: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("SSRF blocked: DNS returned no addresses for %s", host)
	}
	trusted := c.isTrustedDomain(host)
	for _, s := range ips {
		ip := parseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("SSRF blocked: unparseable IP %q from DNS for %s", s, host)
		}
		if c.isInternalIP(ip) && !trusted && !c.isIPAllowlisted(ip) {
			return nil, fmt.Errorf("SSRF blocked: %s resolves to internal IP %s", host, s)
		}
	}
	return d.DialContext(ctx, network, net.JoinHostPort(ips[0], port))
}

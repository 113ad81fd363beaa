package launch

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/provision"
)

// InputError is bad input: rejected before any command runs (exit code 2).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func badInput(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// MaxNameLen is the longest bottle name (bundle.MaxNameLen).
const MaxNameLen = bundle.MaxNameLen

// ValidateName checks a bottle name against the one rule for both backends.
func ValidateName(name string) error {
	if err := bundle.ValidateName(name); err != nil {
		return &InputError{Msg: err.Error()}
	}
	return nil
}

// ValidateNameIn also checks, on kubernetes, that the name makes the
// bottle's namespace name.
func ValidateNameIn(name string, w job.Where) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if w.Backend == Kubernetes {
		if err := w.Cluster.Check(name); err != nil {
			return &InputError{Msg: err.Error()}
		}
	}
	return nil
}

// Upstream is a git remote the gate serves as <Name>.git.
type Upstream = provision.Upstream

var upstreamNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// scpLikeRE matches git's scp-like syntax: [user@]host:path (no "//").
var scpLikeRE = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:.+$`)

// ParseUpstream parses one --upstream NAME=URL.
func ParseUpstream(s string) (Upstream, error) {
	name, u, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return Upstream{}, badInput("invalid --upstream %q: want NAME=URL", s)
	case name == "":
		return Upstream{}, badInput("invalid --upstream %q: empty name", s)
	case u == "":
		return Upstream{}, badInput("invalid --upstream %q: empty URL", s)
	case !upstreamNameRE.MatchString(name) || len(name) > 64:
		return Upstream{}, badInput("invalid --upstream %q: name must be letters, digits, '_' and '-' (at most 64)", s)
	}
	if err := checkGitURL(u); err != nil {
		return Upstream{}, badInput("invalid --upstream %q: %v", s, err)
	}
	return Upstream{Name: name, URL: u}, nil
}

// checkGitURL accepts the remote URL forms the bundle can reach: https, http,
// ssh, git and scp-like [user@]host:path. Local paths and file:// are refused:
// the bundle cannot see the host's files.
func checkGitURL(s string) error {
	if strings.ContainsAny(s, " \t\n\r") {
		return fmt.Errorf("URL contains white space")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("not a git URL: %v", err)
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git":
		default:
			return fmt.Errorf("not a git URL: scheme %q (want https, http, ssh or git)", u.Scheme)
		}
		if u.Host == "" || u.Path == "" || u.Path == "/" {
			return fmt.Errorf("not a git URL: want SCHEME://HOST/PATH")
		}
		if _, hasPass := u.User.Password(); hasPass || (u.User != nil && u.Scheme != "ssh") {
			// A token in https://TOKEN@host/ would reach the agent's gitconfig.
			return fmt.Errorf("URL carries credentials: give them to the bundle with --git-credential")
		}
		return nil
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || !scpLikeRE.MatchString(s) {
		return fmt.Errorf("not a git URL (local paths are not reachable from the bundle)")
	}
	return nil
}

// envNameRE is a POSIX environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnv parses one --env KEY[=VALUE]. A KEY without a value is passed by
// name: its value is taken from claude-bottle's environment and never
// appears in any argv.
func ParseEnv(s string) (EnvVar, error) {
	k, v, hasValue := strings.Cut(s, "=")
	if !envNameRE.MatchString(k) {
		return EnvVar{}, badInput("invalid --env %q: %q is not a variable name", s, k)
	}
	if !hasValue {
		return EnvVar{Name: k, ByName: true}, nil
	}
	return EnvVar{Name: k, Value: v}, nil
}

// parsePair parses NAME=VALUE for flags such as --git-credential.
func parsePair(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return "", "", badInput("invalid %s %q: want NAME=PATH", flag, s)
	}
	return k, v, nil
}

var hostRE = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkHost validates an --allow-host value: a host name, optionally *.-prefixed.
func checkHost(h string) error {
	if len(h) > 253 || !hostRE.MatchString(h) {
		return badInput("invalid --allow-host %q: want a host name such as example.com or *.example.com", h)
	}
	return nil
}

// UpstreamPolicy loosens the gate's ref policy for one upstream
// (--upstream-policy NAME=force[,delete]): Force lets pushes rewrite the
// default branch and move tags, Delete lets them delete refs.
type UpstreamPolicy struct {
	Force, Delete bool
}

// ParseUpstreamPolicy parses one --upstream-policy NAME=force[,delete].
func ParseUpstreamPolicy(s string) (string, UpstreamPolicy, error) {
	name, words, ok := strings.Cut(s, "=")
	if !ok || name == "" || words == "" {
		return "", UpstreamPolicy{}, badInput("invalid --upstream-policy %q: want NAME=force, NAME=delete or NAME=force,delete", s)
	}
	var p UpstreamPolicy
	for _, w := range strings.Split(words, ",") {
		switch {
		case w == "force" && !p.Force:
			p.Force = true
		case w == "delete" && !p.Delete:
			p.Delete = true
		default:
			return "", UpstreamPolicy{}, badInput("invalid --upstream-policy %q: %q is not force or delete (each at most once)", s, w)
		}
	}
	return name, p, nil
}

// upstreamPolicies parses every --upstream-policy; each names an --upstream,
// once.
func upstreamPolicies(flags []string, ups []Upstream) (map[string]UpstreamPolicy, error) {
	out := map[string]UpstreamPolicy{}
	for _, s := range flags {
		name, p, err := ParseUpstreamPolicy(s)
		if err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, badInput("invalid --upstream-policy %q: %s given twice", s, name)
		}
		if !slices.ContainsFunc(ups, func(u Upstream) bool { return u.Name == name }) {
			return nil, badInput("invalid --upstream-policy %q: no --upstream named %s", s, name)
		}
		out[name] = p
	}
	return out, nil
}

// loopback are the bundle's own addresses: --allow-private never trusts
// them, since through pipelock they would reach the bundle's daemons.
var loopback = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("::/128"),
}

// ParseAllowPrivate parses one --allow-private DEST: an IP address, a CIDR or
// a host name (*.example.com: its subdomains and itself). It returns what
// pipelock's allowlist gets (the address or the name; nothing for a range,
// whose hosts need --allow-host or an approval) and what its SSRF guard
// trusts: an address or range by address (ssrf.ip_allowlist, as a CIDR), a
// name by name (trusted_domains).
func ParseAllowPrivate(s string) (host string, trust bundle.Trust, err error) {
	bad := func(format string, a ...any) error {
		return badInput("invalid --allow-private %q: %s", s, fmt.Sprintf(format, a...))
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		if addr.Zone() != "" {
			return "", bundle.Trust{}, bad("an address with a zone")
		}
		addr = addr.Unmap()
		p := netip.PrefixFrom(addr, addr.BitLen())
		if overlapsLoopback(p) {
			return "", bundle.Trust{}, bad("the bundle's own loopback")
		}
		return addr.String(), bundle.Trust{CIDRs: []string{p.String()}}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			return "", bundle.Trust{}, bad("want an IP address, a CIDR such as 10.1.0.0/16, or a host name")
		case p.Bits() == 0:
			return "", bundle.Trust{}, bad("a catch-all range would turn the SSRF guard off")
		case p != p.Masked():
			return "", bundle.Trust{}, bad("host bits set (did you mean %s?)", p.Masked()) // pipelock refuses it too
		case overlapsLoopback(p):
			return "", bundle.Trust{}, bad("the range holds the bundle's own loopback")
		}
		return "", bundle.Trust{CIDRs: []string{p.String()}}, nil
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	switch {
	case len(name) > 253 || !hostRE.MatchString(name):
		return "", bundle.Trust{}, bad("want an IP address, a CIDR such as 10.1.0.0/16, or a host name")
	case strings.HasPrefix(name, "*.") && !strings.Contains(name[2:], "."):
		return "", bundle.Trust{}, bad("a wildcard must name a domain such as *.corp.example") // pipelock's rule
	case name == "localhost" || strings.HasSuffix(name, ".localhost"):
		return "", bundle.Trust{}, bad("the bundle's own loopback")
	}
	return name, bundle.Trust{Domains: []string{name}}, nil
}

func overlapsLoopback(p netip.Prefix) bool {
	for _, l := range loopback {
		if p.Overlaps(l) {
			return true
		}
	}
	return false
}

// allowPrivate parses every --allow-private: the hosts they add to the
// allowlist and the trust they add, in the order given.
func allowPrivate(dests []string) ([]string, bundle.Trust, error) {
	var hosts []string
	var trust bundle.Trust
	for _, s := range dests {
		h, t, err := ParseAllowPrivate(s)
		if err != nil {
			return nil, bundle.Trust{}, err
		}
		if h != "" {
			hosts = append(hosts, h)
		}
		trust.Domains = appendNew(trust.Domains, t.Domains...)
		trust.CIDRs = appendNew(trust.CIDRs, t.CIDRs...)
	}
	return hosts, trust, nil
}

// appendNew appends the values list does not hold yet.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

package main

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Config is the part of pipelock's config the stand-in acts on.
type Config struct {
	Mode           string
	Enforce        bool
	Allowlist      []string
	Listen         string
	ForwardEnabled bool
	TLSEnabled     bool
	CACert, CAKey  string
	Passthrough    []string
	BodyScanning   bool
	BodyAction     string
	// The SSRF guard (ssrf.go): Internal are the ranges it refuses (pipelock's
	// defaults when the key is absent); TrustedDomains pass it by name,
	// IPAllowlist by address. The raw lists are what a reload compares.
	Internal       []*net.IPNet
	InternalRaw    []string
	TrustedDomains []string
	IPAllowlist    []*net.IPNet
	IPAllowlistRaw []string
}

// defaultInternal is pipelock's default of `internal`, the ranges its SSRF
// guard refuses (luckyPipewrench/pipelock@408651293d,
// internal/config/normalize.go:222).
var defaultInternal = []string{
	"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"169.254.0.0/16", // link-local, cloud metadata (169.254.169.254)
	"100.64.0.0/10",  // CGNAT
	"::1/128", "fc00::/7", "fe80::/10", "224.0.0.0/4", "ff00::/8",
}

// Known keys, as in pipelock's internal/config/schema.go (v2.3.0+). A key not
// listed is rejected, like yaml.v3's KnownFields does in pipelock. Sections
// mapped to nil are accepted and ignored whole.
var topLevel = map[string]string{
	"version": "", "mode": "", "enforce": "", "explain_blocks": "", "api_allowlist": "",
	"suppress": "", "fetch_proxy": "FetchProxy", "forward_proxy": "ForwardProxy",
	"websocket_proxy": "", "dlp": "", "canary_tokens": "", "response_scanning": "",
	"mcp_input_scanning": "", "mcp_tool_scanning": "", "mcp_tool_policy": "",
	"git_protection": "", "logging": "", "session_profiling": "", "adaptive_enforcement": "",
	"mcp_session_binding": "", "request_body_scanning": "RequestBodyScanning", "kill_switch": "",
	"sentry": "", "metrics_listen": "", "emit": "", "tool_chain_detection": "",
	"mcp_ws_listener": "", "tls_interception": "TLSInterception", "cross_request_detection": "",
	"reverse_proxy": "", "scan_api": "", "address_protection": "", "seed_phrase_detection": "",
	"rules": "", "file_sentry": "", "sandbox": "", "flight_recorder": "",
	"mcp_binary_integrity": "", "mcp_tool_provenance": "", "behavioral_baseline": "",
	"airlock": "", "browser_shield": "", "media_policy": "", "a2a_scanning": "", "taint": "",
	"mediation_envelope": "", "redaction": "", "agents": "", "default_agent_identity": "",
	"bind_default_agent_identity": "", "license_key": "", "license_file": "",
	"license_public_key": "", "internal": "", "trusted_domains": "", "ssrf": "SSRF",
}

var sectionKeys = map[string][]string{
	"FetchProxy":          {"listen", "timeout_seconds", "max_response_mb", "user_agent", "monitoring"},
	"ForwardProxy":        {"enabled", "max_tunnel_seconds", "idle_timeout_seconds", "sni_verification", "redirect_websocket_hosts"},
	"TLSInterception":     {"enabled", "ca_cert", "ca_key", "passthrough_domains", "cert_ttl", "cert_cache_size", "max_response_bytes"},
	"RequestBodyScanning": {"enabled", "action", "max_body_bytes", "scan_headers", "header_mode", "sensitive_headers", "ignore_headers"},
	"SSRF":                {"ip_allowlist"},
}

// LoadConfig reads and checks a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("parsing config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses a config's content.
func ParseConfig(data []byte) (*Config, error) {
	root, err := parseYAML(string(data))
	if err != nil {
		return nil, err
	}
	cfg := &Config{Mode: "balanced", Enforce: true, Listen: "127.0.0.1:8888", BodyAction: "warn"}
	if root == nil {
		return cfg, cfg.parseSSRF(nil) // pipelock's defaults: the SSRF guard is on
	}
	if root.kind != mapNode {
		return nil, fmt.Errorf("yaml: unmarshal errors:\n  line %d: cannot unmarshal !!%s into config.Config", root.line, root.kindName())
	}
	var unknown []string
	for _, kv := range root.m {
		typ, ok := topLevel[kv.key]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("  line %d: field %s not found in type config.Config", kv.line, kv.key))
			continue
		}
		if keys := sectionKeys[typ]; keys != nil && kv.val.kind == mapNode {
			for _, sub := range kv.val.m {
				if !contains(keys, sub.key) {
					unknown = append(unknown, fmt.Sprintf("  line %d: field %s not found in type config.%s", sub.line, sub.key, typ))
				}
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("yaml: unmarshal errors:\n%s", strings.Join(unknown, "\n"))
	}

	if n := root.get("mode"); n != nil {
		if cfg.Mode, err = n.str(); err != nil {
			return nil, err
		}
		switch cfg.Mode {
		case "strict", "balanced", "audit":
		default:
			return nil, fmt.Errorf("invalid mode %q: must be strict, balanced, or audit", cfg.Mode)
		}
	}
	if cfg.Enforce, err = root.boolean("enforce", true); err != nil {
		return nil, err
	}
	if cfg.Allowlist, err = root.strings("api_allowlist"); err != nil {
		return nil, err
	}
	if fp := root.get("fetch_proxy"); fp != nil {
		if l := fp.get("listen"); l != nil {
			if cfg.Listen, err = l.str(); err != nil {
				return nil, err
			}
		}
	}
	if fw := root.get("forward_proxy"); fw != nil {
		if cfg.ForwardEnabled, err = fw.boolean("enabled", false); err != nil {
			return nil, err
		}
	}
	if ti := root.get("tls_interception"); ti != nil {
		if cfg.TLSEnabled, err = ti.boolean("enabled", false); err != nil {
			return nil, err
		}
		if n := ti.get("ca_cert"); n != nil {
			if cfg.CACert, err = n.str(); err != nil {
				return nil, err
			}
		}
		if n := ti.get("ca_key"); n != nil {
			if cfg.CAKey, err = n.str(); err != nil {
				return nil, err
			}
		}
		if cfg.Passthrough, err = ti.strings("passthrough_domains"); err != nil {
			return nil, err
		}
		if cfg.TLSEnabled {
			home, _ := os.UserHomeDir()
			if cfg.CACert == "" {
				cfg.CACert = home + "/.pipelock/ca.pem"
			}
			if cfg.CAKey == "" {
				cfg.CAKey = home + "/.pipelock/ca-key.pem"
			}
		}
	}
	if rb := root.get("request_body_scanning"); rb != nil {
		if cfg.BodyScanning, err = rb.boolean("enabled", false); err != nil {
			return nil, err
		}
		if n := rb.get("action"); n != nil {
			if cfg.BodyAction, err = n.str(); err != nil {
				return nil, err
			}
		}
	}
	if err := cfg.parseSSRF(root); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseSSRF reads internal, trusted_domains and ssrf.ip_allowlist, checked
// as pipelock checks them (internal/config/validate.go: validateInternalCIDRs
// :1107, ValidateTrustedDomains :29, validateSSRF :1122).
func (cfg *Config) parseSSRF(root *node) error {
	var err error
	if root.get("internal") == nil {
		cfg.InternalRaw = defaultInternal
	} else if cfg.InternalRaw, err = root.strings("internal"); err != nil {
		return err
	}
	for _, c := range cfg.InternalRaw {
		_, ipn, err := net.ParseCIDR(c)
		if err != nil {
			return fmt.Errorf("invalid internal CIDR %q: %w", c, err)
		}
		cfg.Internal = append(cfg.Internal, ipn)
	}
	if cfg.TrustedDomains, err = root.strings("trusted_domains"); err != nil {
		return err
	}
	if err := validateTrustedDomains(cfg.TrustedDomains); err != nil {
		return err
	}
	if cfg.IPAllowlistRaw, err = root.get("ssrf").strings("ip_allowlist"); err != nil {
		return err
	}
	for _, c := range cfg.IPAllowlistRaw {
		ip, ipn, err := net.ParseCIDR(c)
		if err != nil {
			return fmt.Errorf("invalid ssrf.ip_allowlist CIDR %q: %w", c, err)
		}
		if ones, _ := ipn.Mask.Size(); ones == 0 {
			return fmt.Errorf("ssrf.ip_allowlist CIDR %q is a catch-all (/0) and would disable SSRF protection", c)
		}
		if !ip.Equal(ipn.IP) {
			return fmt.Errorf("ssrf.ip_allowlist CIDR %q has host bits set (did you mean %q?)", c, ipn.String())
		}
		cfg.IPAllowlist = append(cfg.IPAllowlist, ipn)
	}
	return nil
}

// validateTrustedDomains is pipelock's ValidateTrustedDomains: entries are
// lowercased and trimmed in place; a URL, host:port, bare or over-broad
// wildcard is refused.
func validateTrustedDomains(domains []string) error {
	for i, raw := range domains {
		d := strings.TrimSuffix(strings.TrimSpace(strings.ToLower(raw)), ".")
		switch {
		case d == "":
			return fmt.Errorf("trusted_domains[%d] is empty", i)
		case strings.ContainsAny(d, "/:"):
			return fmt.Errorf("trusted_domains[%d] %q: use a hostname pattern, not a URL or host:port", i, raw)
		case d == "*":
			return fmt.Errorf("trusted_domains[%d]: bare wildcard disables all SSRF protection", i)
		case strings.HasPrefix(d, "*.") && !strings.Contains(d[2:], "."):
			return fmt.Errorf("trusted_domains[%d] %q: wildcard must target a concrete domain like *.example.com", i, raw)
		case !strings.HasPrefix(d, "*.") && strings.ContainsAny(d, "*?[]"):
			return fmt.Errorf("trusted_domains[%d] %q: only exact hosts and *.example.com wildcards are supported", i, raw)
		}
		domains[i] = d
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matchDomain is pipelock's scanner.MatchDomain: "*.x.com" matches the
// subdomains and the apex.
func matchDomain(host, pattern string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	if net.ParseIP(host) != nil {
		return host == pattern
	}
	if strings.HasPrefix(pattern, "*.") {
		return host == pattern[2:] || strings.HasSuffix(host, pattern[1:])
	}
	return host == pattern
}

// isPassthrough is pipelock's passthrough match: "*.x.com" matches the
// subdomains only, not the apex.
func isPassthrough(host string, domains []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if strings.HasPrefix(d, "*.") {
			if strings.HasSuffix(host, d[1:]) {
				return true
			}
		} else if host == d {
			return true
		}
	}
	return false
}

// allowed reports whether host passes the allowlist (strict mode only:
// in balanced and audit modes the allowlist does not restrict).
func (c *Config) allowed(host string) bool {
	if c.Mode != "strict" {
		return true
	}
	for _, p := range c.Allowlist {
		if matchDomain(host, p) {
			return true
		}
	}
	return false
}

// ---- a YAML subset: block maps, block lists of scalars, flow lists of
// scalars, plain / single- / double-quoted scalars, comments, one document.

type nodeKind int

const (
	scalarNode nodeKind = iota
	mapNode
	listNode
)

type keyVal struct {
	key  string
	line int
	val  *node
}

type node struct {
	kind   nodeKind
	line   int
	scalar string
	quoted bool
	m      []keyVal
	list   []*node
}

func (n *node) kindName() string {
	return map[nodeKind]string{scalarNode: "str", mapNode: "map", listNode: "seq"}[n.kind]
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for _, kv := range n.m {
		if kv.key == key {
			return kv.val
		}
	}
	return nil
}

func (n *node) str() (string, error) {
	if n.kind != scalarNode {
		return "", fmt.Errorf("yaml: line %d: want a string, got !!%s", n.line, n.kindName())
	}
	if !n.quoted && (n.scalar == "~" || n.scalar == "null") {
		return "", nil
	}
	return n.scalar, nil
}

func (n *node) boolean(key string, def bool) (bool, error) {
	v := n.get(key)
	if v == nil {
		return def, nil
	}
	if v.kind == scalarNode && !v.quoted {
		switch v.scalar {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
	}
	return false, fmt.Errorf("yaml: unmarshal errors:\n  line %d: cannot unmarshal %q into bool (%s)", v.line, v.scalar, key)
}

func (n *node) strings(key string) ([]string, error) {
	v := n.get(key)
	if v == nil {
		return nil, nil
	}
	if v.kind == scalarNode && !v.quoted && (v.scalar == "" || v.scalar == "~" || v.scalar == "null") {
		return nil, nil
	}
	if v.kind != listNode {
		return nil, fmt.Errorf("yaml: unmarshal errors:\n  line %d: cannot unmarshal !!%s into []string (%s)", v.line, v.kindName(), key)
	}
	var out []string
	for _, it := range v.list {
		s, err := it.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

type yline struct {
	no     int
	indent int
	text   string
}

func parseYAML(src string) (*node, error) {
	var lines []yline
	docs := 0
	for i, raw := range strings.Split(src, "\n") {
		raw = strings.TrimRight(raw, " \r")
		text := stripComment(raw)
		trimmed := strings.TrimLeft(text, " ")
		if strings.TrimSpace(trimmed) == "" {
			continue
		}
		if strings.HasPrefix(raw, "\t") || strings.HasPrefix(strings.TrimLeft(raw, " "), "\t") {
			return nil, fmt.Errorf("yaml: line %d: found character that cannot start any token", i+1)
		}
		if trimmed == "---" && len(text) == 3 {
			docs++
			if docs > 1 || len(lines) > 0 {
				return nil, fmt.Errorf("multiple YAML documents not supported (pipelock config must be a single document)")
			}
			continue
		}
		lines = append(lines, yline{no: i + 1, indent: len(text) - len(trimmed), text: strings.TrimRight(trimmed, " ")})
	}
	if len(lines) == 0 {
		return nil, nil
	}
	p := &yparser{lines: lines}
	n, err := p.block(lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(lines) {
		return nil, fmt.Errorf("yaml: line %d: did not find expected key", lines[p.i].no)
	}
	return n, nil
}

// stripComment drops a comment: '#' at the start or after a space, outside quotes.
func stripComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '"' && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\'') && (i == 0 || s[i-1] == ' ' || s[i-1] == '[' || s[i-1] == ',' || s[i-1] == '-' || s[i-1] == ':'):
			q = c
		case q == 0 && c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

type yparser struct {
	lines []yline
	i     int
}

func (p *yparser) block(indent int) (*node, error) {
	l := p.lines[p.i]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.list(indent)
	}
	return p.mapping(indent)
}

func (p *yparser) list(indent int) (*node, error) {
	n := &node{kind: listNode, line: p.lines[p.i].no}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("yaml: line %d: bad indentation of a sequence entry", l.no)
		}
		if !(l.text == "-" || strings.HasPrefix(l.text, "- ")) {
			break
		}
		item := strings.TrimSpace(strings.TrimPrefix(l.text, "-"))
		if item == "" || isMapEntry(item) {
			return nil, fmt.Errorf("yaml: line %d: the stand-in reads lists of scalars only", l.no)
		}
		v, err := scalar(item, l.no)
		if err != nil {
			return nil, err
		}
		n.list = append(n.list, v)
		p.i++
	}
	return n, nil
}

func (p *yparser) mapping(indent int) (*node, error) {
	n := &node{kind: mapNode, line: p.lines[p.i].no}
	seen := map[string]int{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, fmt.Errorf("yaml: line %d: mapping values are not allowed in this context", l.no)
		}
		if l.text == "-" || strings.HasPrefix(l.text, "- ") {
			return nil, fmt.Errorf("yaml: line %d: did not find expected key", l.no)
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("yaml: line %d: could not find expected ':'", l.no)
		}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("yaml: line %d: mapping key %q already defined at line %d", l.no, key, prev)
		}
		seen[key] = l.no
		p.i++
		var val *node
		var err error
		switch {
		case rest != "":
			val, err = scalar(rest, l.no)
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			val, err = p.block(p.lines[p.i].indent)
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && strings.HasPrefix(p.lines[p.i].text, "- "):
			val, err = p.list(indent)
		default:
			val = &node{kind: scalarNode, line: l.no}
		}
		if err != nil {
			return nil, err
		}
		n.m = append(n.m, keyVal{key: key, line: l.no, val: val})
	}
	return n, nil
}

func isMapEntry(s string) bool {
	_, _, ok := splitKey(s)
	return ok && s[0] != '"' && s[0] != '\''
}

// splitKey splits "key: rest" (or "key:"); the key may be quoted.
func splitKey(s string) (key, rest string, ok bool) {
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		k, err := scalar(s[:quotedEnd(s)], 0)
		if err != nil {
			return "", "", false
		}
		after := s[quotedEnd(s):]
		if after == ":" || strings.HasPrefix(after, ": ") {
			return k.scalar, strings.TrimSpace(after[1:]), true
		}
		return "", "", false
	}
	if i := strings.Index(s, ": "); i > 0 {
		return s[:i], strings.TrimSpace(s[i+2:]), true
	}
	if strings.HasSuffix(s, ":") && len(s) > 1 {
		return s[:len(s)-1], "", true
	}
	return "", "", false
}

func quotedEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		if q == '"' && s[i] == '\\' {
			i++
			continue
		}
		if s[i] == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

func scalar(s string, line int) (*node, error) {
	switch {
	case s == "[]":
		return &node{kind: listNode, line: line}, nil
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("yaml: line %d: did not find expected ',' or ']'", line)
		}
		n := &node{kind: listNode, line: line}
		for _, part := range splitFlow(s[1 : len(s)-1]) {
			v, err := scalar(strings.TrimSpace(part), line)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
		}
		return n, nil
	case strings.HasPrefix(s, "{"):
		if s == "{}" {
			return &node{kind: mapNode, line: line}, nil
		}
		return nil, fmt.Errorf("yaml: line %d: the stand-in does not read flow mappings", line)
	case strings.HasPrefix(s, `"`):
		if quotedEnd(s) != len(s) || len(s) < 2 {
			return nil, fmt.Errorf("yaml: line %d: did not find expected end of quoted scalar", line)
		}
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("yaml: line %d: found unknown escape character", line)
		}
		return &node{kind: scalarNode, line: line, scalar: v, quoted: true}, nil
	case strings.HasPrefix(s, "'"):
		if quotedEnd(s) != len(s) || len(s) < 2 {
			return nil, fmt.Errorf("yaml: line %d: did not find expected end of quoted scalar", line)
		}
		return &node{kind: scalarNode, line: line, scalar: strings.ReplaceAll(s[1:len(s)-1], "''", "'"), quoted: true}, nil
	}
	return &node{kind: scalarNode, line: line, scalar: s}, nil
}

func splitFlow(s string) []string {
	var parts []string
	var q byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '"' && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == ',':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		parts = append(parts, s[start:])
	}
	return parts
}

// describe summarizes a config for the log.
func (c *Config) describe() string {
	allow := append([]string(nil), c.Allowlist...)
	sort.Strings(allow)
	return fmt.Sprintf("mode=%s enforce=%t forward_proxy=%t tls_interception=%t allowlist=%v passthrough=%v trusted_domains=%v ssrf.ip_allowlist=%v",
		c.Mode, c.Enforce, c.ForwardEnabled, c.TLSEnabled, allow, c.Passthrough, c.TrustedDomains, c.IPAllowlistRaw)
}

package bundle

import (
	"reflect"
	"strings"
	"testing"
)

// pipelockSchema are the config keys claude-bottle may write, as pipelock
// declares them (luckyPipewrench/pipelock @40865129,
// internal/config/schema.go: Config, FetchProxy, ForwardProxy,
// TLSInterception, RequestBodyScanning). pipelock refuses unknown keys.
var pipelockSchema = map[string]bool{
	"version": true, "mode": true, "enforce": true, "api_allowlist": true,
	"fetch_proxy": true, "fetch_proxy.listen": true,
	"forward_proxy": true, "forward_proxy.enabled": true,
	"tls_interception": true, "tls_interception.enabled": true, "tls_interception.ca_cert": true,
	"tls_interception.ca_key": true, "tls_interception.passthrough_domains": true,
	"request_body_scanning": true, "request_body_scanning.enabled": true,
	"request_body_scanning.action": true, "request_body_scanning.scan_headers": true,
	"trusted_domains": true, "ssrf": true, "ssrf.ip_allowlist": true,
}

// keyPaths lists the dotted key paths of our YAML subset (two-space
// indentation, "- " list items).
func keyPaths(yaml string) (map[string]string, []string) {
	values := map[string]string{}
	var order, stack []string
	for _, line := range strings.Split(yaml, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "- ") {
			continue
		}
		depth := (len(line) - len(trimmed)) / 2
		key, val, _ := strings.Cut(trimmed, ":")
		stack = append(stack[:depth], key)
		path := strings.Join(stack, ".")
		values[path] = strings.TrimSpace(val)
		order = append(order, path)
	}
	return values, order
}

func TestPipelockConfigMatchesSchema(t *testing.T) {
	cfg := string(PipelockFor(Spec{AllowHosts: AllowHosts([]string{"example.com"})}, "172.18.0.2", nil))
	values, order := keyPaths(cfg)
	for _, k := range order {
		if !pipelockSchema[k] {
			t.Errorf("key %s is not in pipelock's schema", k)
		}
	}
	want := map[string]string{
		"mode": "strict", "enforce": "true", "fetch_proxy.listen": "172.18.0.2:8888",
		"forward_proxy.enabled": "true", "tls_interception.enabled": "true",
		"tls_interception.ca_cert": PipelockCACert, "tls_interception.ca_key": PipelockCAKey,
		"request_body_scanning.scan_headers": "true",
	}
	for k, v := range want {
		if values[k] != v {
			t.Errorf("%s = %q, want %q", k, values[k], v)
		}
	}
	if !strings.Contains(cfg, "  - example.com\n") || !strings.Contains(cfg, "    - anthropic.com\n    - \"*.anthropic.com\"\n") {
		t.Errorf("allowlist or passthrough apex missing:\n%s", cfg)
	}
}

// TestDefaultAllowHostsHaveNoSideChannels: hosts that accept data for any
// project (sentry.io, statsig) are ways out; they are not required with
// Claude Code's non-essential traffic off (issue 10, finding 9).
func TestDefaultAllowHostsHaveNoSideChannels(t *testing.T) {
	for _, h := range AllowHosts(nil) {
		for _, bad := range []string{"sentry.io", "statsig.anthropic.com", "statsig.com"} {
			if h == bad || strings.HasSuffix(h, "."+bad) {
				t.Errorf("default allowlist has %s", h)
			}
		}
	}
}

// TestPipelockTrust: the spec's trust settings land under pipelock's keys,
// and only when there are some (the schema test checks the names).
func TestPipelockTrust(t *testing.T) {
	spec := Spec{Trust: Trust{Domains: []string{"egress.bottle"}, CIDRs: []string{"10.1.0.0/16"}, Passthrough: []string{"egress.bottle"}}}
	cfg := string(PipelockFor(spec, "127.0.0.1", nil))
	values, order := keyPaths(cfg)
	for _, k := range order {
		if !pipelockSchema[k] {
			t.Errorf("key %s is not in pipelock's schema", k)
		}
	}
	for _, want := range []string{"trusted_domains:\n  - egress.bottle\n", "ssrf:\n  ip_allowlist:\n    - 10.1.0.0/16\n", "    - egress.bottle\nrequest_body_scanning"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if _, ok := values["ssrf"]; !ok {
		t.Error("no ssrf section")
	}
	if plain := string(PipelockFor(Spec{}, "127.0.0.1", nil)); strings.Contains(plain, "trusted_domains") || strings.Contains(plain, "ssrf") {
		t.Errorf("a spec without trust renders trust keys:\n%s", plain)
	}
}

func TestPipelockForMergesApproved(t *testing.T) {
	cfg := string(PipelockFor(Spec{AllowHosts: []string{"a.example"}}, "::1", []string{"B.example"}))
	for _, want := range []string{`listen: "[::1]:8888"`, `- a.example`, `- b.example`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
}

func TestAllowHosts(t *testing.T) {
	got := AllowHosts([]string{"Example.COM.", "api.anthropic.com", ""})
	if got[0] != "api.anthropic.com" || !reflect.DeepEqual(got, AllowHosts(append([]string{}, got...))) {
		t.Fatalf("AllowHosts = %v", got)
	}
	n := 0
	for _, h := range got {
		if h == "example.com" {
			n++
		}
		if h == "api.anthropic.com" {
			n += 10
		}
	}
	if n != 11 {
		t.Errorf("want example.com once and api.anthropic.com once: %v", got)
	}
}

func TestValidateName(t *testing.T) {
	for _, bad := range []string{"", "a b", "a/b", "..", "a.b", "-a", "a-", "a--b", strings.Repeat("x", 64)} {
		if ValidateName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"a", "my_bottle-2", strings.Repeat("x", 63)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// table is a resolver of fixed answers; a name it lacks does not resolve.
func table(answers map[string][]string) lookupHost {
	return func(_ context.Context, host string) ([]string, error) {
		if ips, ok := answers[host]; ok {
			return ips, nil
		}
		if net.ParseIP(host) != nil {
			return []string{host}, nil // as the system resolver answers a literal
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
}

// connect sends a CONNECT for authority through the fixture's stand-in and
// returns the status and body of its answer.
func connect(t *testing.T, f *fixture, authority string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", f.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "CONNECT "+authority+" HTTP/1.1\r\nHost: "+authority+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "" // a tunnel: no body to read
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// allowlisted puts hosts on the fixture's allowlist (after localhost).
func allowlisted(hosts ...string) string {
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString("  - \"" + h + "\"\n")
	}
	return b.String()
}

// TestSSRFRefusesInternal: a CONNECT to an allowlisted host that resolves
// to a private, loopback, link-local (cloud metadata), CGNAT or IPv6
// unique-local address is refused with pipelock's message, whatever the
// allowlist says; so is an allowlisted IP literal in those ranges and a
// name that does not resolve. Before the stand-in had the guard, each of
// them was dialled.
func TestSSRFRefusesInternal(t *testing.T) {
	f := newFixtureAllowing(t, "", allowlisted("corp.test", "lo.test", "meta.test", "cgnat.test", "ula.test", "gone.test", "10.9.8.7"))
	f.proxy.lookup = table(map[string][]string{
		"corp.test":  {"10.1.2.3"},
		"lo.test":    {"127.0.0.1"},
		"meta.test":  {"169.254.169.254"},
		"cgnat.test": {"100.64.0.9"},
		"ula.test":   {"fd00::7"},
		"localhost":  {"127.0.0.1", "::1"},
	})
	for _, c := range []struct{ authority, want string }{
		{"corp.test:443", "CONNECT blocked: SSRF blocked: corp.test resolves to internal IP 10.1.2.3\n"},
		{"lo.test:443", "CONNECT blocked: SSRF blocked: lo.test resolves to internal IP 127.0.0.1\n"},
		{"meta.test:80", "CONNECT blocked: SSRF blocked: meta.test resolves to internal IP 169.254.169.254\n"},
		{"cgnat.test:443", "CONNECT blocked: SSRF blocked: cgnat.test resolves to internal IP 100.64.0.9\n"},
		{"ula.test:443", "CONNECT blocked: SSRF blocked: ula.test resolves to internal IP fd00::7\n"},
		{"10.9.8.7:443", "CONNECT blocked: SSRF blocked: 10.9.8.7 resolves to internal IP 10.9.8.7\n"},
		{"gone.test:443", "CONNECT blocked: SSRF check failed: DNS resolution error for gone.test: lookup gone.test: no such host\n"},
		{"localhost:" + f.upstreamPort(), "CONNECT blocked: SSRF blocked: localhost resolves to internal IP 127.0.0.1\n"},
	} {
		if code, body := connect(t, f, c.authority); code != http.StatusForbidden || body != c.want {
			t.Errorf("CONNECT %s: %d %q, want 403 %q", c.authority, code, body, c.want)
		}
	}
	// Plain HTTP gets the same guard, with pipelock's "blocked: " body.
	if code, body := get(t, f.client(f.caPool), "http://corp.test/", ""); code != 403 ||
		body != "blocked: SSRF blocked: corp.test resolves to internal IP 10.1.2.3\n" {
		t.Errorf("plain HTTP: %d %q", code, body)
	}
}

// newFixtureAllowing is a fixture whose allowlist also holds the lines
// of allow, with extra top-level keys.
func newFixtureAllowing(t *testing.T, extra, allow string) *fixture {
	t.Helper()
	f := newFixture(t, "", extra)
	raw, _ := readFile(f.cfgPath)
	cfg := strings.Replace(raw, `  - "localhost"`+"\n", `  - "localhost"`+"\n"+allow, 1)
	writeFile(t, f.cfgPath, cfg)
	f.reloadNow(t)
	return f
}

// TestSSRFExemptions: trusted_domains lets a name through by name (a
// wildcard its subdomains and apex), ssrf.ip_allowlist an address by range;
// neither lets anything else through, and a trusted IP literal is no
// exemption (pipelock matches trusted_domains against names only).
func TestSSRFExemptions(t *testing.T) {
	cfg, err := ParseConfig([]byte("trusted_domains:\n  - \"*.corp.test\"\n  - \"10.1.2.3\"\nssrf:\n  ip_allowlist:\n    - \"10.50.0.0/16\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	lookup := table(map[string][]string{
		"git.corp.test": {"10.1.2.3"},
		"corp.test":     {"10.1.2.3"},
		"lab.test":      {"10.50.3.4"},
		"other.test":    {"10.51.0.1"},
		"mixed.test":    {"10.50.3.4", "192.168.1.1"},
		"public.test":   {"203.0.113.5"},
	})
	for _, c := range []struct{ host, want string }{
		{"git.corp.test", ""},
		{"corp.test", ""},
		{"lab.test", ""},
		{"public.test", ""},
		{"10.50.9.9", ""},
		{"other.test", "SSRF blocked: other.test resolves to internal IP 10.51.0.1"},
		{"mixed.test", "SSRF blocked: mixed.test resolves to internal IP 192.168.1.1"},
		{"10.1.2.3", "SSRF blocked: 10.1.2.3 resolves to internal IP 10.1.2.3"},
	} {
		if got := cfg.checkSSRF(context.Background(), lookup, c.host); got != c.want {
			t.Errorf("checkSSRF(%s) = %q, want %q", c.host, got, c.want)
		}
	}

	// Through the proxy: the fixture's upstream on localhost is reached once
	// trusted by name, or by address.
	for _, trust := range []string{trustLocalhost, "ssrf:\n  ip_allowlist:\n    - \"127.0.0.0/8\"\n"} {
		f := newFixture(t, "", trust)
		if code, body := get(t, f.client(f.caPool), "https://"+f.upstreamA+"/x", ""); code != 200 {
			t.Errorf("trusted with %q: %d %q", trust, code, body)
		}
	}
}

// TestSSRFAtDial: a name that resolves to a public address when checked and
// to loopback when dialled (DNS rebinding) is refused at the dial, as
// pipelock's ssrfSafeDialContext refuses it.
func TestSSRFAtDial(t *testing.T) {
	f := newFixtureAllowing(t, "", allowlisted("rebind.test"))
	calls := 0
	f.proxy.lookup = func(_ context.Context, host string) ([]string, error) {
		calls++
		if calls == 1 {
			return []string{"203.0.113.5"}, nil
		}
		return []string{"127.0.0.1"}, nil
	}
	code, body := get(t, f.client(f.caPool), "http://rebind.test:"+f.upstreamPort()+"/", "")
	if code != http.StatusBadGateway || !strings.Contains(body, "SSRF blocked: rebind.test resolves to internal IP 127.0.0.1") {
		t.Errorf("rebinding: %d %q", code, body)
	}
	if calls != 2 {
		t.Errorf("%d lookups, want 2 (the check, then the dial)", calls)
	}
}

// TestSSRFConfig: the SSRF keys are checked as pipelock checks them, and
// the guard is on by default.
func TestSSRFConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"ssrf:\n  ip_allowlist:\n    - \"0.0.0.0/0\"\n", "is a catch-all (/0)"},
		{"ssrf:\n  ip_allowlist:\n    - \"10.1.2.5/24\"\n", `has host bits set (did you mean "10.1.2.0/24"?)`},
		{"ssrf:\n  ip_allowlist:\n    - \"10.1.2.5\"\n", "invalid ssrf.ip_allowlist CIDR"},
		{"ssrf:\n  nope: 1\n", "field nope not found in type config.SSRF"},
		{"trusted_domains:\n  - \"*\"\n", "bare wildcard"},
		{"trusted_domains:\n  - \"*.test\"\n", "wildcard must target a concrete domain"},
		{"trusted_domains:\n  - \"git.corp:443\"\n", "not a URL or host:port"},
		{"internal:\n  - \"10.0.0.0\"\n", "invalid internal CIDR"},
	} {
		if _, err := ParseConfig([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.yaml, err, c.want)
		}
	}
	cfg, err := ParseConfig(nil)
	if err != nil || strings.Join(cfg.InternalRaw, ",") != strings.Join(defaultInternal, ",") {
		t.Errorf("default internal: %v %v", cfg.InternalRaw, err)
	}
	// An emptied `internal` leaves pipelock's safety net: IP literals in the
	// core ranges, with the IP allowlist as the only exemption.
	cfg, err = ParseConfig([]byte("internal: []\nssrf:\n  ip_allowlist:\n    - \"10.50.0.0/16\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	lookup := table(map[string][]string{"corp.test": {"10.1.2.3"}})
	for host, want := range map[string]string{
		"127.0.0.1": "core SSRF: 127.0.0.1 is a private/internal IP address",
		"10.50.0.1": "",
		"corp.test": "",
	} {
		if got := cfg.checkSSRF(context.Background(), lookup, host); got != want {
			t.Errorf("internal: [] checkSSRF(%s) = %q, want %q", host, got, want)
		}
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// reloadNow reloads the fixture's config and fails unless it took.
func (f *fixture) reloadNow(t *testing.T) {
	t.Helper()
	before := f.proxy.cur.Load()
	f.proxy.Reload("test")
	if f.proxy.cur.Load() == before {
		t.Fatal("the reload did not take")
	}
}

func (f *fixture) upstreamPort() string {
	_, port, _ := net.SplitHostPort(f.upstreamA)
	return port
}

package supervise

import (
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"example.org", "example.org"},
		{"  Registry.NPMJS.org. ", "registry.npmjs.org"},
		{"a-b.c0.io", "a-b.c0.io"},
		{"10.0.0.1", "10.0.0.1"},
	} {
		got, err := NormalizeHost(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"", "localhost", "https://example.org", "example.org:443", "example.org/path",
		"*.example.org", "user@example.org", "exa mple.org", "-a.example.org", "a..org",
		"ex_ample.org", "[::1]", "example.org?x", strings.Repeat("a", 64) + ".org",
	} {
		if got, err := NormalizeHost(in); err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want an error", in, got)
		}
	}
}

func TestHostOfURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://Example.org/a?b", "example.org"},
		{"http://example.org:8080/", "example.org"},
		{"example.org/x", "example.org"},
		{"example.org/?next=https://other.example", "example.org"},
		{"https://example.org/a@b", "example.org"},
		{"https://example.org#@evil.example", "example.org"},
	} {
		got, err := HostOfURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("HostOfURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"https:///x", "https://*.example.org/", "://"} {
		if got, err := HostOfURL(in); err == nil {
			t.Errorf("HostOfURL(%q) = %q, want an error", in, got)
		}
	}
	// Userinfo hides the host behind a name that looks like it (finding 4:
	// the operator saw pypi.org, approve added evil-exfil.com).
	for _, in := range []string{
		"https://pypi.org@evil-exfil.com/simple/",
		"pypi.org@evil-exfil.com/simple/",
		"https://pypi.org:443@evil-exfil.com/",
		"https://@evil-exfil.com/",
		"HTTPS://user:pw@evil-exfil.com",
	} {
		got, err := HostOfURL(in)
		if err == nil || !strings.Contains(err.Error(), "userinfo") {
			t.Errorf("HostOfURL(%q) = %q, %v; want a userinfo error", in, got, err)
		}
	}
}

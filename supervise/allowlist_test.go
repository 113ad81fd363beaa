package supervise

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bundle"
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
}

// TestApprovedHostOnReloadedAllowlist: approving an egress request rewrites
// pipelock's config with the spec's hosts plus every approved host, and
// sends pipelock (here: this process) SIGHUP.
func TestApprovedHostOnReloadedAllowlist(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	for _, h := range []string{"first.example.org", "second.example.org", "third.example.org"} {
		if _, err := s.Ask(Ask{Kind: KindEgress, Subject: h, Host: h}, testTime); err != nil {
			t.Fatal(err)
		}
	}
	f.mustOperator(t, "approve", "r1")
	f.mustOperator(t, "deny", "r2")
	before := hups.Load()
	f.mustOperator(t, "approve", "r3")
	awaitHUP(t, before)

	want := bundle.PipelockConfig(bundle.AllowHosts([]string{"launch.example", "first.example.org", "third.example.org"}))
	if got := read(t, f.allowlist.ConfigPath); got != string(want) {
		t.Errorf("config\n%s\nwant\n%s", got, want)
	}
	fi, err := os.Stat(f.allowlist.ConfigPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, %v", fi.Mode(), err)
	}
	assertNotAllowed(t, f, "second.example.org")

	// A config re-rendered from the spec alone gets the approvals back.
	write(t, f.allowlist.ConfigPath, string(bundle.PipelockConfig(bundle.AllowHosts([]string{"launch.example"}))))
	changed, err := f.allowlist.Apply(f.store(t).ApprovedHosts())
	if err != nil || !changed {
		t.Fatalf("re-apply: %v, %v", changed, err)
	}
	assertAllowed(t, f, "first.example.org")
	if changed, err := f.allowlist.Apply(f.store(t).ApprovedHosts()); err != nil || changed {
		t.Errorf("re-apply of the same hosts: changed=%v, %v", changed, err)
	}
}

func TestApproveFailsWithoutPipelock(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store(t).Ask(Ask{Kind: KindEgress, Subject: "x.example.org", Host: "x.example.org"}, testTime); err != nil {
		t.Fatal(err)
	}
	write(t, f.allowlist.PidPath, "not-a-pid\n")
	_, err := f.operator(t, "approve", "r1")
	if err == nil || !strings.Contains(err.Error(), "bad pid") {
		t.Fatalf("approve without pipelock: %v", err)
	}
	if r, _ := f.store(t).Get("r1"); !r.Pending() {
		t.Errorf("a failed approval left r1 %s", r.Status)
	}
	// Capabilities need no pipelock.
	if _, err := f.store(t).Ask(Ask{Kind: KindCapability, Subject: "a GPU"}, testTime); err != nil {
		t.Fatal(err)
	}
	f.mustOperator(t, "approve", "r2")
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertAllowed(t *testing.T, f fixture, host string) {
	t.Helper()
	if !strings.Contains(read(t, f.allowlist.ConfigPath), strconv.Quote(host)) {
		t.Errorf("%s is not on pipelock's allowlist", host)
	}
}

func assertNotAllowed(t *testing.T, f fixture, host string) {
	t.Helper()
	if strings.Contains(read(t, f.allowlist.ConfigPath), strconv.Quote(host)) {
		t.Errorf("%s is on pipelock's allowlist", host)
	}
}

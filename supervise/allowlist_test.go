package supervise

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bundle"
)

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

	want := f.pipelockConfig("first.example.org", "third.example.org")
	if got := read(t, f.allowlist.ConfigPath); got != string(want) {
		t.Errorf("config\n%s\nwant\n%s", got, want)
	}
	fi, err := os.Stat(f.allowlist.ConfigPath)
	if err != nil || fi.Mode().Perm() != 0o644 { // pipelock reads it as its own user
		t.Errorf("config mode %v, %v", fi.Mode(), err)
	}
	assertNotAllowed(t, f, "second.example.org")

	// A config re-rendered from the spec alone gets the approvals back.
	write(t, f.allowlist.ConfigPath, string(f.pipelockConfig()))
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
	if !slices.Contains(allowlisted(t, f), host) {
		t.Errorf("%s is not on pipelock's allowlist", host)
	}
}

func assertNotAllowed(t *testing.T, f fixture, host string) {
	t.Helper()
	if slices.Contains(allowlisted(t, f), host) {
		t.Errorf("%s is on pipelock's allowlist", host)
	}
}

// allowlisted is the api_allowlist of the config on disk.
func allowlisted(t *testing.T, f fixture) []string {
	t.Helper()
	hosts, err := bundle.PipelockAllowlist([]byte(read(t, f.allowlist.ConfigPath)))
	if err != nil {
		t.Fatal(err)
	}
	return hosts
}

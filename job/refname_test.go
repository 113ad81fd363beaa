package job

import (
	"os/exec"
	"strings"
	"testing"
)

func TestTrackingName(t *testing.T) {
	for _, c := range []struct {
		ref, want string // want "" : refused
	}{
		{"refs/heads/main", "main"},
		{"refs/heads/feature/x-1", "feature/x-1"},
		{"refs/heads/é-unicode", "é-unicode"},
		{SnapshotRef, "uncommitted"},
		{"refs/heads/uncommitted", ""},
		{"refs/heads/uncommitted/x", ""},
		{"refs/heads/HEAD", ""},
		{"refs/heads/x/HEAD", "x/HEAD"},
		{"refs/tags/v1", ""},
		{"refs/remotes/origin/main", ""},
		{"refs/claude-bottle/other", ""},
		{"HEAD", ""},
		{"refs/heads/", ""},
		{"refs/heads/a..b", ""},
		{"refs/heads/.x", ""},
		{"refs/heads/a/.x", ""},
		{"refs/heads/a.lock", ""},
		{"refs/heads/a.lock/b", ""},
		{"refs/heads/a.", ""},
		{"refs/heads/a//b", ""},
		{"refs/heads/a@{0}", ""},
		{"refs/heads/a b", ""},
		{"refs/heads/a\tb", ""},
		{"refs/heads/a\nb", ""},
		{"refs/heads/a\x7fb", ""},
		{"refs/heads/a~1", ""},
		{"refs/heads/a^", ""},
		{"refs/heads/a:b", ""},
		{"refs/heads/a?", ""},
		{"refs/heads/a*", ""},
		{"refs/heads/a[", ""},
		{"refs/heads/a\\b", ""},
		{"refs/heads/\x1b]0;title\x07", ""},
		{"refs/heads/bidi\u202eevil", ""},
		{"refs/heads/zero\u200bwidth", ""},
		{"refs/heads/nbsp\u00a0x", ""},
		{"refs/heads/bad\xffutf8", ""},
		{"refs/heads/" + strings.Repeat("x", 1100), ""},
	} {
		got, err := trackingName(c.ref)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("trackingName(%q) = %q, %v; want %q", c.ref, got, err, c.want)
		}
	}
}

// TestCheckRefNameAgreesWithGit: what checkRefName accepts, git accepts
// (it may refuse more: non-printable runes).
func TestCheckRefNameAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, name := range []string{"refs/heads/a", "refs/heads/a..b", "refs/heads/a.lock", "refs/heads/.a", "refs/heads/a@{b",
		"refs/heads/a b", "refs/heads/a/", "refs/heads/a.", "refs/heads/a//b", "refs/heads/é", "refs/heads/a-b_c.d/e", "@", "a"} {
		gitOK := exec.Command("git", "check-ref-format", name).Run() == nil
		ours := checkRefName(name) == nil
		if ours && !gitOK {
			t.Errorf("%q: accepted here, refused by git", name)
		}
		if gitOK && !ours {
			t.Errorf("%q: refused here, accepted by git (no reason to)", name)
		}
	}
}

func TestConflicts(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"x/a", "x/a/b", true}, {"x/a/b", "x/a", true}, {"x/a", "x/ab", false}, {"x/a", "x/a", false}} {
		if got := conflicts(c.a, c.b); got != c.want {
			t.Errorf("conflicts(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

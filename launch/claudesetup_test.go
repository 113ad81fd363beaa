package launch

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/claudecfg"
)

// TestClaudeSetupInPlan: Prepare reads the setup from the HOME it is
// given, approves the key the guest will hold (by name or by --env value),
// and a bad --claude-config is an input error (exit 2).
func TestClaudeSetupInPlan(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(home+"/.claude", 0o755)
	os.WriteFile(home+"/.claude/CLAUDE.md", []byte("# memory\n"), 0o644)
	getenv := func(k string) (string, bool) {
		v, ok := map[string]string{"HOME": home, "ANTHROPIC_API_KEY": "sk-ant-from-the-environment-0123456789"}[k]
		return v, ok
	}
	planJSON := func(p *Plan) string {
		t.Helper()
		for _, f := range p.Guest.Claude.Files {
			if f.Path == claudecfg.GuestJSON {
				return string(f.Content)
			}
		}
		t.Fatalf("no %s in the plan", claudecfg.GuestJSON)
		return ""
	}
	guestJSON := func(o Options) string {
		t.Helper()
		p, err := Prepare(o, getenv, "x")
		if err != nil {
			t.Fatal(err)
		}
		return planJSON(p)
	}
	suffix := func(key string) string { return `"` + key[len(key)-20:] + `"` }
	o := hostFileOptions()
	o.Egress = EgressOff
	if got := guestJSON(o); !strings.Contains(got, suffix("sk-ant-from-the-environment-0123456789")) {
		t.Errorf("the key passed by name is not approved:\n%s", got)
	}
	o.Env = []string{"ANTHROPIC_API_KEY=sk-ant-given-with-env-flag-9876543210"}
	if got := guestJSON(o); !strings.Contains(got, suffix("sk-ant-given-with-env-flag-9876543210")) || strings.Contains(got, "0123456789") {
		t.Errorf("the --env key is not the one approved:\n%s", got)
	}
	// With egress on, the guest's key is the bottle token: that is the one
	// approved, never the user's.
	o = hostFileOptions()
	p, err := Prepare(o, getenv, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := planJSON(p); strings.Contains(got, "0123456789") || !strings.Contains(got, suffix(p.Egress.Token)) {
		t.Errorf("with egress on, the approved key is not the bottle token:\n%s", got)
	}
	o.ClaudeConfig = home + "/missing"
	_, err = Prepare(o, getenv, "x")
	var in *InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), "invalid --claude-config") {
		t.Errorf("err %v, want an input error", err)
	}
}

package claudecfg

import (
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/provision"
)

// TestUnfilterableSettingsStayHome: a settings.json that cannot be parsed
// cannot be filtered, so it is left out (not copied as it is).
func TestUnfilterableSettingsStayHome(t *testing.T) {
	for _, body := range []string{`{"apiKeyHelper": "x",`, `["apiKeyHelper"]`, `null`, `{"env": ["GITHUB_TOKEN=x"]}`} {
		home := t.TempDir()
		write(t, home+"/.claude/settings.json", body, 0o644)
		s := mustRead(t, Options{Getenv: env("HOME", home), Workspace: provision.Workspace})
		got, ok := placed(s)[GuestDir+"/settings.json"]
		if strings.HasPrefix(body, `{"env"`) {
			// An env that is not an object is dropped whole; the rest travels.
			if !ok || strings.Contains(string(content(t, s, GuestDir+"/settings.json")), "GITHUB_TOKEN") {
				t.Errorf("%s: placed %v %q", body, ok, got)
			}
			continue
		}
		if ok {
			t.Errorf("%s: placed as %s", body, got)
		}
		if w := strings.Join(s.Warnings, "\n"); !strings.Contains(w, "left out ~/.claude/settings.json: not a JSON object") {
			t.Errorf("%s: warnings %q", body, w)
		}
	}
}

func TestCredentialNamesAndValues(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "ANTHROPIC_API_KEY": true, "AWS_SECRET_ACCESS_KEY": true, "PGPASSWORD": true,
		"ANTHROPIC_AUTH_TOKEN": true, "Authorization": true, "X-Api-Key": true, "Cookie": true, "npm_config__auth": true,
		"EDITOR": false, "CLAUDE_CODE_MAX_OUTPUT_TOKENS": true, "X-Team": false, "BASH_DEFAULT_TIMEOUT_MS": false,
	} {
		if credentialName(name) != want {
			t.Errorf("credentialName(%s) = %v", name, !want)
		}
	}
	for v, want := range map[string]bool{
		"sk-ant-api03-abcdefghij": true, "ghp_0123456789abcdef": true, "github_pat_11ABCDEFG0123": true,
		"AKIAIOSFODNN7EXAMPLE": true, "Bearer abcdefghijkl": true, "postgres://u:pw@db/app": true,
		"https://example.com/x": false, "vim": false, "sk-": false, "https://user@host/": false,
	} {
		if credentialValue(v) != want {
			t.Errorf("credentialValue(%s) = %v", v, !want)
		}
	}
	for v, want := range map[string]bool{
		"${TOKEN}": true, "Bearer ${GITHUB_PAT}": true, "${TOKEN:-sk-ant-default}": false,
		"Bearer ${A}${B}": false, "Bearer x${TOKEN}": false, "token": false,
	} {
		if envReference.MatchString(v) != want {
			t.Errorf("envReference(%s) = %v", v, !want)
		}
	}
}

func TestAllowed(t *testing.T) {
	r := &reader{o: Options{AllowHosts: []string{"api.anthropic.com", "*.linear.app"}}}
	for host, want := range map[string]bool{
		"api.anthropic.com": true, "mcp.linear.app": true, "a.b.linear.app": true,
		"linear.app": false, "evillinear.app": false, "anthropic.com": false,
	} {
		if r.allowed(host) != want {
			t.Errorf("allowed(%s) = %v", host, !want)
		}
	}
}

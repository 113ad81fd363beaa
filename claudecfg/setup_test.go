package claudecfg

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/provision"
)

// TestReadFixture: from a real-looking ~/.claude and ~/.claude.json
// exactly the user configuration travels, owned by node with its modes.
func TestReadFixture(t *testing.T) {
	s := mustRead(t, options(fixture(t)))
	want := map[string]string{
		GuestDir + "/":                         "-rwxr-xr-x",
		GuestDir + "/CLAUDE.md":                "-rw-r--r--",
		GuestDir + "/agents/":                  "-rwxr-xr-x",
		GuestDir + "/agents/reviewer.md":       "-rw-r--r--",
		GuestDir + "/commands/":                "-rwxr-xr-x",
		GuestDir + "/commands/alias.md":        "-rw-r--r--",
		GuestDir + "/commands/fix.md":          "-rw-r--r--",
		GuestDir + "/commands/sub/":            "-rwxr-xr-x",
		GuestDir + "/commands/sub/deep.md":     "-rw-r--r--",
		GuestDir + "/keybindings.json":         "-rw-r--r--",
		GuestDir + "/output-styles/":           "-rwxr-xr-x",
		GuestDir + "/output-styles/terse.md":   "-rw-r--r--",
		GuestDir + "/rules/":                   "-rwxr-xr-x",
		GuestDir + "/rules/go.md":              "-rw-r--r--",
		GuestDir + "/settings.json":            "-rw-r--r--",
		GuestDir + "/skills/":                  "-rwxr-xr-x",
		GuestDir + "/skills/review/":           "-rwxr-xr-x",
		GuestDir + "/skills/review/SKILL.md":   "-rw-r--r--",
		GuestDir + "/skills/review/bin/":       "-rwxr-xr-x",
		GuestDir + "/skills/review/bin/run.sh": "-rwxr-xr-x",
		GuestDir + "/workflows/":               "-rwxr-xr-x",
		GuestDir + "/workflows/ship.js":        "-rw-r--r--",
		GuestJSON:                              "-rw-------",
	}
	if got := placed(s); !maps.Equal(got, want) {
		t.Errorf("placed:\n%s\nwant:\n%s", strings.Join(slices.Sorted(maps.Keys(got)), "\n"), strings.Join(slices.Sorted(maps.Keys(want)), "\n"))
	}
	for _, f := range s.Files {
		if f.Owner != provision.Agent {
			t.Errorf("%s owned by %s, want node", f.Path, f.Owner.Name)
		}
		if f.Source != "" || f.Tree {
			t.Errorf("%s is read again at archive time (Source %q): what travels must be what was checked", f.Path, f.Source)
		}
	}
	if got := string(content(t, s, GuestDir+"/commands/alias.md")); got != "Fix $ARGUMENTS.\n" {
		t.Errorf("a link in the tree travels as its target's copy; got %q", got)
	}
}

// TestReadLeftOut: every entry left out is named with its reason, the
// ones the user would miss as warnings.
func TestReadLeftOut(t *testing.T) {
	s := mustRead(t, options(fixture(t)))
	notes, warns := strings.Join(s.Notes, "\n"), strings.Join(s.Warnings, "\n")
	for _, want := range []string{
		"left out ~/.claude/.credentials.json: credentials",
		"left out ~/.claude/ide/: IDE lock files",
		"left out ~/.claude/local/: a legacy npm install",
		"left out ~/.claude/plugins/: plugins do not travel",
		"Claude Code's own state (transcripts, history, caches, logs): ~/.claude/history.jsonl ~/.claude/projects/ ~/.claude/shell-snapshots/ ~/.claude/statsig/ ~/.claude/todos/",
		"not configuration Claude Code documents: ~/.claude/random.txt",
		"left out ~/.claude/skills/review/.git/: a git repository's metadata",
		"left out ~/.claude/skills/mine/: --skill mine takes its place",
		"left out ~/.claude/rules/pipe.md: not a regular file",
		"left out ~/.claude/commands/rules: a symlink to something other than a regular file",
		"settings.json: dropped enabledPlugins (plugins do not travel)",
		"settings.json: dropped env.HTTPS_PROXY (claude-bottle sets it in the guest)",
		`MCP server "ref": kept header Authorization, a reference to a variable`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, want := range []string{
		"left out ~/.claude/agents/huge.md: 1048577 bytes, over the 1 MiB cap for one file",
		"left out ~/.claude/commands/outside.md: a symlink out of ~/.claude",
		"left out ~/.claude/commands/creds.md: a symlink to ~/.claude/.credentials.json, which does not travel",
		"left out ~/.claude/commands/raw.json: a symlink to ~/.claude/settings.json, which does not travel",
		"left out ~/.claude/commands/dangling.md: a symlink that does not resolve",
		"settings.json: dropped apiKeyHelper (it runs a host command that fetches credentials)",
		"settings.json: dropped awsAuthRefresh",
		"settings.json: dropped otelHeadersHelper",
		"settings.json: dropped env.GITHUB_TOKEN (its name looks like a credential's",
		"settings.json: dropped env.DATABASE_URL (its value looks like a credential",
		"settings.json: dropped env.MY_VAR (its value looks like a credential",
		`MCP server "files" left out: a stdio server runs a program of the host`,
		`MCP server "ws" left out: transport "ws" cannot be reached from a bottle`,
		`MCP server "q" left out: its url carries a credential (query parameter api_key)`,
		`MCP server "u" left out: its url carries credentials (user info)`,
		`MCP server "lo" left out: 127.0.0.1 is the host's loopback`,
		`MCP server "supervise" left out: --supervise registers claude-bottle's own server`,
		`MCP server "github": dropped header Authorization (a credential`,
		`MCP server "github" kept, but its host api.githubcopilot.com is not on the proxy's allowlist: add --allow-host api.githubcopilot.com`,
		`MCP server "ref": dropped headersHelper`,
		`MCP server "linear": dropped oauth.clientSecret`,
	} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	if strings.Contains(warns, `"linear" kept, but`) {
		t.Error("linear's host is under *.linear.app, on the allowlist")
	}
}

// TestSettingsFiltered: the guest's settings.json is the user's minus what
// fetches or holds credentials, plugins and claude-bottle's own variables.
func TestSettingsFiltered(t *testing.T) {
	s := mustRead(t, options(fixture(t)))
	var got map[string]any
	if err := json.Unmarshal(content(t, s, GuestDir+"/settings.json"), &got); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	json.Unmarshal([]byte(`{
	  "model": "opus", "theme": "dark", "skipDangerousModePermissionPrompt": true,
	  "permissions": {"allow": ["Bash(ls:*)"], "deny": ["Read(./.env)"]},
	  "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo <done> & bye"}]}]},
	  "env": {"EDITOR": "vim"}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings.json:\n%v\nwant:\n%v", got, want)
	}
	if b := content(t, s, GuestDir+"/settings.json"); !strings.Contains(string(b), "echo <done> & bye") {
		t.Errorf("settings.json is HTML-escaped:\n%s", b)
	}
}

// TestGeneratedJSON: the guest's ~/.claude.json is claude-bottle's, with
// the answers the rules give and nothing else of the host's.
func TestGeneratedJSON(t *testing.T) {
	s := mustRead(t, options(fixture(t)))
	var got map[string]any
	if err := json.Unmarshal(content(t, s, GuestJSON), &got); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	json.Unmarshal([]byte(`{
	  "hasCompletedOnboarding": true,
	  "theme": "dark-daltonized",
	  "bypassPermissionsModeAccepted": true,
	  "customApiKeyResponses": {"approved": ["0123456789abcdefghij"], "rejected": []},
	  "projects": {"/home/node/workspace": {"hasTrustDialogAccepted": true}},
	  "mcpServers": {
	    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"X-Team": "core"}},
	    "linear": {"type": "sse", "url": "https://mcp.linear.app/sse", "oauth": {"clientId": "abc", "callbackPort": 8080}},
	    "ref": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${MCP_TOKEN}"}}
	  }}`), &want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf(".claude.json:\n%s", g)
	}
}

// TestGeneratedJSONAnswersOnlyWhatTheUserAnswered: no bypass answer, no
// theme and no key approval unless there is one to give.
func TestGeneratedJSONAnswersOnlyWhatTheUserAnswered(t *testing.T) {
	home := t.TempDir()
	write(t, home+"/.claude.json", `{"numStartups": 3}`, 0o600)
	o := options(home)
	o.APIKey = ""
	s := mustRead(t, o)
	got := strings.Join(strings.Fields(string(content(t, s, GuestJSON))), " ")
	want := `{ "hasCompletedOnboarding": true, "projects": { "/home/node/workspace": { "hasTrustDialogAccepted": true } } }`
	if got != want {
		t.Errorf(".claude.json: %s\nwant %s", got, want)
	}
}

// TestNoSecretLeaves: no fixture secret is in a note, a warning, the
// dry-run's display of a file or a placed file; the guest key's last
// characters only in the .claude.json content (never its display).
func TestNoSecretLeaves(t *testing.T) {
	s := mustRead(t, options(fixture(t)))
	var text []string
	text = append(append(text, s.Notes...), s.Warnings...)
	for _, f := range s.Files {
		text = append(text, f.Path, string(f.Display))
		if f.Path != GuestJSON {
			text = append(text, string(f.Content))
		}
	}
	all := strings.Join(text, "\n")
	for _, secret := range append(fixtureSecrets, fixtureAPIKey[len(fixtureAPIKey)-20:]) {
		if strings.Contains(all, secret) {
			t.Errorf("%q left Read", secret)
		}
	}
	json := string(content(t, s, GuestJSON))
	for _, secret := range fixtureSecrets {
		if strings.Contains(json, secret) {
			t.Errorf("%q is in the guest's .claude.json", secret)
		}
	}
	if strings.Contains(json, fixtureAPIKey) {
		t.Error("the whole API key is in the guest's .claude.json")
	}
}

// TestSkillClashWhateverItIs: a --skill replaces the setup's entry of its
// name under skills/ also when that entry is a file or a link.
func TestSkillClashWhateverItIs(t *testing.T) {
	home := t.TempDir()
	write(t, home+"/.claude/skills/a", "a file", 0o644)
	write(t, home+"/.claude/skills/keep/SKILL.md", "kept", 0o644)
	link(t, "keep", home+"/.claude/skills/b")
	o := Options{Getenv: env("HOME", home), Skills: []string{"a", "b"}, Workspace: provision.Workspace}
	got := placed(mustRead(t, o))
	for _, p := range []string{GuestDir + "/skills/a", GuestDir + "/skills/b", GuestDir + "/skills/b/"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s placed under a --skill of its name", p)
		}
	}
	if _, ok := got[GuestDir+"/skills/keep/SKILL.md"]; !ok {
		t.Errorf("a skill of another name was left out: %v", got)
	}
}

// BenchmarkRead200 reads a setup of 200 files (what a launch's prepare adds).
func BenchmarkRead200(b *testing.B) {
	home := b.TempDir()
	for i := range 200 {
		os.MkdirAll(home+"/.claude/commands", 0o755)
		os.WriteFile(fmt.Sprintf("%s/.claude/commands/c%03d.md", home, i), []byte("# a command\n"), 0o644)
	}
	os.WriteFile(home+"/.claude.json", []byte(fixtureJSON), 0o600)
	o := Options{Getenv: env("HOME", home), Workspace: provision.Workspace}
	for b.Loop() {
		if _, err := Read(o); err != nil {
			b.Fatal(err)
		}
	}
}

package claudecfg

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/claude-bottle/claude-bottle/provision"
)

// Fixture secrets: none may appear in any note, warning, dry-run display
// or placed file (the API key's last characters in the generated
// .claude.json being the one thing the guest holds already).
var fixtureSecrets = []string{
	"sk-ant-oat01-fixture-credential",          // .credentials.json
	"fixture-transcript-text",                  // projects/…/session.jsonl
	"fixture-history-prompt",                   // history.jsonl
	"fixture-api-key-helper-command",           // settings.json apiKeyHelper
	"fixture-aws-refresh-command",              // settings.json awsAuthRefresh
	"ghp_fixtureenvsecret000000000000",         // settings.json env.GITHUB_TOKEN
	"fixture-db-password",                      // settings.json env.DATABASE_URL
	"sk-ant-fixture-hidden-under-a-plain-name", // settings.json env.MY_VAR
	"fixture-mcp-header-token",                 // mcpServers.github.headers.Authorization
	"fixture-stdio-env-secret",                 // mcpServers.files.env
	"fixture-query-secret",                     // mcpServers.q's URL
	"fixture-userinfo-password",                // mcpServers.u's URL
	"sk-ant-api03-fixture-primary-key",         // .claude.json primaryApiKey
	"fixture-account@example.com",              // .claude.json oauthAccount
	"fixture-outside-the-tree",                 // ~/outside.txt, linked from the tree
	"fixture-git-extraheader-token",            // skills/review/.git/config
	"fixture-ide-lock-token",                   // ide/1234.lock
}

const fixtureAPIKey = "sk-ant-api03-guest-key-0123456789abcdefghij"

// fixtureSettings holds every kind of key the filter judges.
const fixtureSettings = `{
  "model": "opus",
  "theme": "dark",
  "apiKeyHelper": "/bin/echo fixture-api-key-helper-command",
  "awsAuthRefresh": "aws sso login fixture-aws-refresh-command",
  "otelHeadersHelper": "/bin/otel-headers",
  "skipDangerousModePermissionPrompt": true,
  "permissions": {"allow": ["Bash(ls:*)"], "deny": ["Read(./.env)"]},
  "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo <done> & bye"}]}]},
  "enabledPlugins": {"formatter@acme": true},
  "env": {
    "GITHUB_TOKEN": "ghp_fixtureenvsecret000000000000",
    "DATABASE_URL": "postgres://app:fixture-db-password@db/app",
    "MY_VAR": "sk-ant-fixture-hidden-under-a-plain-name",
    "HTTPS_PROXY": "http://corp-proxy:3128",
    "EDITOR": "vim"
  }
}
`

// fixtureJSON is a host .claude.json with sign-in state and every kind of
// MCP server.
const fixtureJSON = `{
  "theme": "dark-daltonized",
  "hasCompletedOnboarding": true,
  "bypassPermissionsModeAccepted": true,
  "installMethod": "npm-global",
  "userID": "fixture-user-id",
  "primaryApiKey": "sk-ant-api03-fixture-primary-key",
  "oauthAccount": {"emailAddress": "fixture-account@example.com"},
  "customApiKeyResponses": {"approved": ["host-key-suffix-00000"], "rejected": []},
  "projects": {"/home/me/app": {"hasTrustDialogAccepted": true, "mcpServers": {"local-one": {"type": "http", "url": "https://local.example/mcp"}}}},
  "mcpServers": {
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
      "headers": {"Authorization": "Bearer fixture-mcp-header-token", "X-Team": "core"}},
    "linear": {"type": "sse", "url": "https://mcp.linear.app/sse", "oauth": {"clientId": "abc", "callbackPort": 8080, "clientSecret": "x"}},
    "ref": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${MCP_TOKEN}"}, "headersHelper": "/bin/h"},
    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem"], "env": {"K": "fixture-stdio-env-secret"}},
    "ws": {"type": "ws", "url": "wss://ws.example/mcp"},
    "q": {"type": "http", "url": "https://q.example/mcp?api_key=fixture-query-secret"},
    "u": {"type": "http", "url": "https://me:fixture-userinfo-password@u.example/mcp"},
    "lo": {"type": "http", "url": "http://127.0.0.1:3000/mcp"},
    "supervise": {"type": "http", "url": "https://supervise.example/mcp"}
  }
}
`

// fixture writes a real-looking home: ~/.claude with all of the above and
// ~/.claude.json. It returns the home directory.
func fixture(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	c := filepath.Join(home, ".claude")
	files := map[string]string{
		"CLAUDE.md":                              "# Always run the tests.\n",
		"settings.json":                          fixtureSettings,
		"keybindings.json":                       "[]\n",
		"commands/fix.md":                        "Fix $ARGUMENTS.\n",
		"commands/sub/deep.md":                   "deep\n",
		"agents/reviewer.md":                     "---\nname: reviewer\n---\nReview.\n",
		"skills/review/SKILL.md":                 "---\nname: review\n---\n",
		"skills/review/.git/config":              "[http]\n\textraheader = AUTHORIZATION: basic fixture-git-extraheader-token\n",
		"skills/mine/SKILL.md":                   "from the setup\n",
		"output-styles/terse.md":                 "terse\n",
		"rules/go.md":                            "gofmt\n",
		"workflows/ship.js":                      "export default {}\n",
		".credentials.json":                      `{"claudeAiOauth":{"accessToken":"sk-ant-oat01-fixture-credential"}}`,
		"projects/-home-me-app/session.jsonl":    `{"message":"fixture-transcript-text"}`,
		"projects/-home-me-app/memory/MEMORY.md": "auto memory\n",
		"history.jsonl":                          `{"display":"fixture-history-prompt"}`,
		"todos/t.json":                           "[]",
		"shell-snapshots/snap.sh":                "export A=1",
		"statsig/x":                              "x",
		"ide/1234.lock":                          `{"authToken":"fixture-ide-lock-token"}`,
		"local/package.json":                     "{}",
		"plugins/cache/acme/formatter/x.md":      "x",
		"random.txt":                             "?",
	}
	for rel, body := range files {
		write(t, filepath.Join(c, rel), body, 0o644)
	}
	write(t, filepath.Join(c, "skills/review/bin/run.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(c, "agents/huge.md"), strings.Repeat("x", MaxFileSize+1), 0o644)
	write(t, filepath.Join(home, "outside.txt"), "fixture-outside-the-tree", 0o644)
	write(t, filepath.Join(home, ".claude.json"), fixtureJSON, 0o600)
	link(t, "fix.md", filepath.Join(c, "commands/alias.md"))               // in the tree: copied
	link(t, "../../outside.txt", filepath.Join(c, "commands/outside.md"))  // out of the tree
	link(t, "../.credentials.json", filepath.Join(c, "commands/creds.md")) // in the tree, never travels
	link(t, "../settings.json", filepath.Join(c, "commands/raw.json"))     // unfiltered settings
	link(t, "nowhere.md", filepath.Join(c, "commands/dangling.md"))
	link(t, "../rules", filepath.Join(c, "commands/rules"))
	if err := syscall.Mkfifo(filepath.Join(c, "rules/pipe.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// env is a Getenv over a map.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// options are a launch's: the fixture's home, the guest key, --supervise,
// --skill mine.
func options(home string) Options {
	return Options{Getenv: env("HOME", home), APIKey: fixtureAPIKey, Skills: []string{"mine"}, Supervise: true,
		AllowHosts: []string{"api.anthropic.com", "*.linear.app"}, Workspace: provision.Workspace}
}

func mustRead(t *testing.T, o Options) provision.ClaudeSetup {
	t.Helper()
	s, err := Read(o)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s
}

// placed maps each placed path to "mode" (directories end in /).
func placed(s provision.ClaudeSetup) map[string]string {
	m := map[string]string{}
	for _, f := range s.Files {
		p := f.Path
		if f.Dir {
			p += "/"
		}
		m[p] = f.Mode.Perm().String()
	}
	return m
}

func content(t *testing.T, s provision.ClaudeSetup, path string) []byte {
	t.Helper()
	for _, f := range s.Files {
		if f.Path == path {
			return f.Content
		}
	}
	t.Fatalf("%s is not placed", path)
	return nil
}

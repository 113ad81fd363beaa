//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// claudeSecrets are the fixture's secret values: none may reach the guest.
var claudeSecrets = []string{
	"sk-ant-oat01-e2e-credential", "e2e-transcript-text", "e2e-history-prompt", "e2e-api-key-helper",
	"ghp_e2eenvsecret00000000000000000", "e2e-db-password", "sk-ant-api03-e2e-primary-key",
	"e2e-account@example.com", "e2e-mcp-header-token", "e2e-stdio-env-secret", "e2e-outside-the-tree",
	"e2e-git-extraheader-token",
}

// claudeHome writes a real-looking home: ~/.claude with user configuration
// and everything that must stay home, and ~/.claude.json with sign-in
// state and MCP servers of each kind.
func claudeHome(t *testing.T) string {
	home := t.TempDir()
	c := filepath.Join(home, ".claude")
	files := map[string]string{
		"CLAUDE.md": "# Always run the tests.\n",
		"settings.json": `{"model": "opus", "apiKeyHelper": "/bin/echo e2e-api-key-helper", "skipDangerousModePermissionPrompt": true,
  "permissions": {"allow": ["Bash(go test:*)"]}, "enabledPlugins": {"x@acme": true},
  "env": {"GITHUB_TOKEN": "ghp_e2eenvsecret00000000000000000", "DATABASE_URL": "postgres://app:e2e-db-password@db/app", "EDITOR": "vim"}}`,
		"commands/fix.md":                     "Fix $ARGUMENTS.\n",
		"agents/reviewer.md":                  "---\nname: reviewer\n---\nReview.\n",
		"skills/review/SKILL.md":              "# review\n",
		"skills/review/.git/config":           "[http]\n\textraheader = AUTHORIZATION: basic e2e-git-extraheader-token\n",
		"output-styles/terse.md":              "Be terse.\n",
		"rules/go.md":                         "Run gofmt.\n",
		".credentials.json":                   `{"claudeAiOauth":{"accessToken":"sk-ant-oat01-e2e-credential"}}`,
		"projects/-home-me-app/session.jsonl": `{"message":"e2e-transcript-text"}`,
		"history.jsonl":                       `{"display":"e2e-history-prompt"}`,
		"todos/t.json":                        "[]",
		"plugins/cache/acme/x/README.md":      "x",
	}
	for rel, body := range files {
		p := filepath.Join(c, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(c, "skills/review/bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(c, "skills/review/bin/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(c, "agents/huge.md"), make([]byte, 1<<20+1), 0o644))
	must(t, os.WriteFile(filepath.Join(home, "outside.txt"), []byte("e2e-outside-the-tree"), 0o644))
	must(t, os.Symlink("../../outside.txt", filepath.Join(c, "commands/outside.md")))
	must(t, os.Symlink("../.credentials.json", filepath.Join(c, "commands/creds.md")))
	must(t, syscall.Mkfifo(filepath.Join(c, "rules/pipe.md"), 0o644))
	must(t, os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{
  "theme": "light", "primaryApiKey": "sk-ant-api03-e2e-primary-key", "installMethod": "npm-global",
  "oauthAccount": {"emailAddress": "e2e-account@example.com"},
  "projects": {"/home/me/app": {"hasTrustDialogAccepted": true}},
  "mcpServers": {
    "docs": {"type": "http", "url": "https://mcp.docs.example/mcp", "headers": {"Authorization": "Bearer e2e-mcp-header-token", "X-Team": "core"}},
    "files": {"command": "npx", "args": ["-y", "server-filesystem"], "env": {"K": "e2e-stdio-env-secret"}}
  }}`), 0o600))
	return home
}

// withHome is env with HOME set and no CLAUDE_CONFIG_DIR: the default
// source, ~/.claude and ~/.claude.json.
func withHome(env []string, home string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CLAUDE_CONFIG_DIR=") && !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+home)
}

// TestClaudeSetup: with a real-looking ~/.claude and ~/.claude.json on the
// host, the guest's ~/.claude and ~/.claude.json hold exactly what the
// rules say, owned by node, and no credential of the fixture is anywhere
// in the guest; on both backends.
func TestClaudeSetup(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) {
			smol := backend == "smolmachines"
			e := newEnv(t, smol)
			e.env = withHome(e.env, claudeHome(t))
			name := "e2e-cc-" + uniq()
			e.stopAtEnd(name)
			args := []string{"--backend", backend, "launch", "--detach", "--name", name, "--supervise"}
			if smol {
				args = append(args, "--smolvm-net", "tsi")
			}
			e.mustCB(args...)
			container := "claude-bottle-" + name + "-agent"
			if smol {
				container = "smolvm-" + container
			}
			checkClaudeSetup(t, guest{t: t, container: container})
		})
	}
}

func checkClaudeSetup(t *testing.T, g guest) {
	want := strings.Join([]string{
		"node:node 600 .claude.json",
		"node:node 644 .claude/CLAUDE.md",
		"node:node 644 .claude/agents/reviewer.md",
		"node:node 644 .claude/commands/fix.md",
		"node:node 644 .claude/output-styles/terse.md",
		"node:node 644 .claude/rules/go.md",
		"node:node 644 .claude/settings.json",
		"node:node 644 .claude/skills/review/SKILL.md",
		"node:node 755 .claude",
		"node:node 755 .claude/agents",
		"node:node 755 .claude/commands",
		"node:node 755 .claude/output-styles",
		"node:node 755 .claude/rules",
		"node:node 755 .claude/skills",
		"node:node 755 .claude/skills/review",
		"node:node 755 .claude/skills/review/bin",
		"node:node 755 .claude/skills/review/bin/run.sh",
	}, "\n")
	got := g.must("root", `cd /home/node && find .claude .claude.json -printf '%u:%g %m %p\n' | LC_ALL=C sort`)
	if got != want {
		t.Errorf("the guest's setup:\n%s\nwant:\n%s", got, want)
	}
	var settings, config map[string]any
	must(t, json.Unmarshal([]byte(g.must("node", "cat /home/node/.claude/settings.json")), &settings))
	wantSettings := map[string]any{"model": "opus", "skipDangerousModePermissionPrompt": true,
		"permissions": map[string]any{"allow": []any{"Bash(go test:*)"}}, "env": map[string]any{"EDITOR": "vim"}}
	if !reflect.DeepEqual(settings, wantSettings) {
		t.Errorf("the guest's settings.json: %v", settings)
	}
	// node parses it as Claude Code will (JSON.parse).
	raw := g.must("node", `node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync("/home/node/.claude.json"))))'`)
	must(t, json.Unmarshal([]byte(raw), &config))
	key := g.must("node", `printf %s "$ANTHROPIC_API_KEY"`) // the bottle token egress gave the guest
	wantConfig := map[string]any{
		"hasCompletedOnboarding": true, "theme": "light",
		"customApiKeyResponses": map[string]any{"approved": []any{key[len(key)-20:]}, "rejected": []any{}},
		"projects":              map[string]any{"/home/node/workspace": map[string]any{"hasTrustDialogAccepted": true}},
		"mcpServers": map[string]any{"docs": map[string]any{"type": "http", "url": "https://mcp.docs.example/mcp",
			"headers": map[string]any{"X-Team": "core"}}},
	}
	if !reflect.DeepEqual(config, wantConfig) {
		t.Errorf("the guest's .claude.json: %s", raw)
	}
	grep := "grep -rlsF"
	for _, s := range claudeSecrets {
		grep += " -e '" + s + "'"
	}
	if found := g.must("root", grep+" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev || true"); found != "" {
		t.Errorf("a secret of the host's Claude setup is in the guest: %s", found)
	}
	log := g.must("node", "cat /home/node/.claude-standin.log")
	if !strings.Contains(log, "claude mcp add --scope user --transport http supervise ") {
		t.Errorf("supervise was not registered after the setup:\n%s", log)
	}
}

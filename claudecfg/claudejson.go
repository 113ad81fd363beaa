package claudecfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode"

	"github.com/claude-bottle/claude-bottle/provision"
)

// hostConfig is all claude-bottle reads of the host's .claude.json. The
// rest — sign-in state (oauthAccount, primaryApiKey, userID), API key
// answers, per-project state (trust, history, local-scope MCP servers),
// installMethod (copied in, it broke the binary elsewhere: yolobox#23) —
// is not read and never travels.
type hostConfig struct {
	// Theme: "theme is now a settings key; an old value in .claude.json is
	// a fallback" (D:settings); a theme in settings.json travels with it.
	Theme string `json:"theme"`
	// BypassPermissionsModeAccepted is the bypass-permissions answer of
	// older releases, which move it into settings.json as
	// skipDangerousModePermissionPrompt (I#26233; the migration
	// migrateBypassPermissionsAcceptedToSettings in Claude Code's
	// reconstructed source). Carried only when the user gave it.
	BypassPermissionsModeAccepted bool `json:"bypassPermissionsModeAccepted"`
	// MCPServers are the user-scope MCP servers: top-level mcpServers
	// (D:mcp, "user scope"; local scope lives under projects and stays).
	MCPServers map[string]json.RawMessage `json:"mcpServers"`
}

// guestConfig is the guest's ~/.claude.json, written by claude-bottle:
// Claude Code's global config, which holds sign-in state, the user- and
// local-scope MCP servers, per-project state under projects (trust,
// history) and UI toggles (D:settings).
type guestConfig struct {
	// HasCompletedOnboarding skips the first-run wizard (theme, sign-in).
	// Undocumented; the workaround confirmed in I#8938, I#46259 and
	// I#73403. Not checked here.
	HasCompletedOnboarding bool   `json:"hasCompletedOnboarding"`
	Theme                  string `json:"theme,omitempty"`
	// BypassPermissionsModeAccepted: see hostConfig.
	BypassPermissionsModeAccepted bool `json:"bypassPermissionsModeAccepted,omitempty"`
	// CustomAPIKeyResponses answers "Do you want to use this API key?",
	// asked once in interactive sessions when ANTHROPIC_API_KEY is set
	// (D:authentication; -p always uses the key). The approved entries are
	// the key's last 20 characters — known from third-party code only
	// (cc-mirror, coop, several test harnesses), not checked here.
	CustomAPIKeyResponses *keyResponses `json:"customApiKeyResponses,omitempty"`
	// Projects marks the workspace trusted: hasTrustDialogAccepted is
	// documented (D:permissions, D:mcp, D:errors).
	Projects   map[string]projectState `json:"projects"`
	MCPServers map[string]mcpServer    `json:"mcpServers,omitempty"`
}

// mcpServer is a user-scope server as it travels (mcp.go).
type mcpServer struct {
	Type    string            `json:"type"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	OAuth   map[string]any    `json:"oauth,omitempty"`
}

type keyResponses struct {
	Approved []string `json:"approved"`
	Rejected []string `json:"rejected"`
}

type projectState struct {
	HasTrustDialogAccepted bool `json:"hasTrustDialogAccepted"`
}

// apiKeySuffix is how many of the key's last characters Claude Code keeps.
const apiKeySuffix = 20

// writeJSON generates the guest's ~/.claude.json from what it may take of
// the host's, and places it (node, 0600: Claude Code's own file there
// holds sign-in state).
func (r *reader) writeJSON() error {
	host := r.readHostJSON()
	g := guestConfig{HasCompletedOnboarding: true, BypassPermissionsModeAccepted: host.BypassPermissionsModeAccepted,
		Projects: map[string]projectState{r.o.Workspace: {HasTrustDialogAccepted: true}}}
	if theme(host.Theme) {
		g.Theme = host.Theme
	}
	g.MCPServers = r.mcpServers(host.MCPServers)
	shown := g
	if key := r.o.APIKey; key != "" {
		g.CustomAPIKeyResponses = &keyResponses{Approved: []string{key[max(0, len(key)-apiKeySuffix):]}, Rejected: []string{}}
		shown.CustomAPIKeyResponses = &keyResponses{Approved: []string{"<the last 20 characters of ANTHROPIC_API_KEY>"}, Rejected: []string{}}
	}
	content, err := marshal(g)
	display, _ := marshal(shown) // the same types as content's
	if err != nil {
		return fmt.Errorf("write %s: %w", GuestJSON, err)
	}
	r.files = append(r.files, provision.File{Path: GuestJSON, Owner: provision.Agent, Mode: 0o600,
		Content: content, Show: true, Display: display})
	return nil
}

// marshal writes JSON as people write it: indented, and "<", ">", "&" as
// they are (encoding/json escapes them for HTML by default).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	err := e.Encode(v)
	return b.Bytes(), err
}

// theme accepts a theme name as Claude Code writes one (dark,
// light-daltonized, a custom theme's id): short and printable.
func theme(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// readHostJSON reads the host's .claude.json; a missing one is no error,
// an unreadable or malformed one a warning (the guest's is generated
// anyway, without the theme and servers).
func (r *reader) readHostJSON() hostConfig {
	var c hostConfig
	f, fi, err := provision.OpenRegular(r.src.json)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c
	case err != nil:
		r.warn("%s not read: %v", r.src.jsonName, err)
		return c
	}
	defer f.Close()
	if fi.Size() > MaxJSONSize {
		r.warn("%s not read: %s, over its %s cap", r.src.jsonName, byteSize(fi.Size()), byteSize(MaxJSONSize))
		return c
	}
	if err := json.NewDecoder(io.LimitReader(f, MaxJSONSize)).Decode(&c); err != nil {
		r.warn("%s not read: %v", r.src.jsonName, err)
		return hostConfig{}
	}
	r.note("%s: only the theme, the user-scope MCP servers and the bypass-permissions answer are read; "+
		"sign-in state, API key answers and per-project state never travel; %s is generated", r.src.jsonName, GuestJSON)
	return c
}

// printable makes a name from the host's config safe to log.
func printable(s string) string {
	return strings.Trim(fmt.Sprintf("%q", s), `"`)
}

package claudecfg

import (
	"encoding/json"
	"errors"
	"fmt"
)

// credentialHelpers are the settings.json keys that run a host command to
// fetch or refresh credentials (D:settings-reference): the key's output is
// sent as X-Api-Key and Authorization (apiKeyHelper), or refreshes and
// exports cloud credentials (awsAuthRefresh, awsCredentialExport,
// gcpAuthRefresh), or makes OpenTelemetry's auth headers
// (otelHeadersHelper). The guest uses the credential claude-bottle passes
// by name instead; the command would not exist there, and its output is a
// credential.
var credentialHelpers = []string{"apiKeyHelper", "awsAuthRefresh", "awsCredentialExport", "gcpAuthRefresh", "otelHeadersHelper"}

// pluginKeys enable plugins and add marketplaces (D:settings-reference,
// D:plugin-marketplaces). Plugins do not travel (tree.go), and with these
// keys kept the guest's Claude Code would try to install them from
// marketplaces it cannot reach.
var pluginKeys = []string{"enabledPlugins", "extraKnownMarketplaces"}

// reservedEnv are the guest variables claude-bottle sets itself: an env
// entry of settings.json overrides the shell's (D:settings-reference,
// "env"), so a host proxy there would take the guest off pipelock.
var reservedEnv = map[string]bool{
	"HTTPS_PROXY": true, "HTTP_PROXY": true, "NO_PROXY": true,
	"https_proxy": true, "http_proxy": true, "no_proxy": true,
	"NODE_EXTRA_CA_CERTS": true, "GIT_GATE_URL": true, "MCP_SUPERVISE_URL": true,
	"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": true, "CLAUDE_CONFIG_DIR": true,
}

// filterSettings drops what fetches or holds credentials on the host and
// keeps the rest (hooks, permissions, the model, the theme, the status
// line: they run or apply in the guest). Each dropped key is a note or a
// warning naming the key, never its value. skipDangerousModePermissionPrompt
// travels as the user set it: the bypass-permissions warning is answered in
// the guest only when the user's own settings answer it
// (D:settings-reference, D:permission-modes; I#26233, I#25503).
func (r *reader) filterSettings(b []byte) ([]byte, error) {
	var s map[string]json.RawMessage
	if err := json.Unmarshal(b, &s); err != nil || s == nil {
		return nil, errors.New("not a JSON object, so it cannot be filtered")
	}
	for _, k := range credentialHelpers {
		if _, ok := s[k]; ok {
			delete(s, k)
			r.warn("settings.json: dropped %s (it runs a host command that fetches credentials)", k)
		}
	}
	for _, k := range pluginKeys {
		if _, ok := s[k]; ok {
			delete(s, k)
			r.note("settings.json: dropped %s (plugins do not travel)", k)
		}
	}
	if raw, ok := s["env"]; ok {
		env, err := r.filterEnv(raw)
		if err != nil {
			delete(s, "env")
			r.warn("settings.json: dropped env (%v)", err)
		} else {
			s["env"] = env
		}
	}
	return marshal(s)
}

// filterEnv drops the env entries whose name or value looks like a
// credential's, and those claude-bottle sets itself.
func (r *reader) filterEnv(raw json.RawMessage) (json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil || env == nil {
		return nil, errors.New("not an object of strings")
	}
	for _, name := range sortedKeys(env) {
		var v string
		json.Unmarshal(env[name], &v) // a non-string value is judged by its name only
		why := ""
		switch {
		case reservedEnv[name]:
			r.note("settings.json: dropped env.%s (claude-bottle sets it in the guest)", name)
		case credentialName(name):
			why = "its name looks like a credential's"
		case credentialValue(v):
			why = "its value looks like a credential"
		default:
			continue
		}
		delete(env, name)
		if why != "" {
			r.warn("settings.json: dropped env.%s (%s; pass it with --env %s if the agent needs it)", name, why, name)
		}
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("re-encode: %w", err)
	}
	return out, nil
}

package claudecfg

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// mcpServers keeps the user-scope MCP servers that can work from inside a
// bottle: http and sse servers (D:mcp: remote servers, "type": "http" or
// "sse"), reached through pipelock like any other host, with what holds a
// credential stripped. A stdio server runs a program of the host and is
// left out with a warning naming it; so are the other transports (ws: the
// proxy carries no WebSocket; the IDE and SDK ones exist only in their
// clients). The supervise registration runs after the archive and adds
// its own server to this file (provision.registerSupervise).
func (r *reader) mcpServers(raw map[string]json.RawMessage) map[string]mcpServer {
	out := map[string]mcpServer{}
	for _, name := range sortedKeys(raw) {
		label := fmt.Sprintf("MCP server %q", printable(name))
		if r.o.Supervise && name == "supervise" {
			r.warn("%s left out: --supervise registers claude-bottle's own server under that name", label)
			continue
		}
		var srv map[string]any
		if err := json.Unmarshal(raw[name], &srv); err != nil || srv == nil {
			r.warn("%s left out: not a JSON object", label)
			continue
		}
		if s, why := r.mcpServer(label, srv); why != "" {
			r.warn("%s left out: %s", label, why)
		} else {
			out[name] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// mcpServer filters one server; why says why it cannot travel at all.
func (r *reader) mcpServer(label string, srv map[string]any) (mcpServer, string) {
	typ, _ := srv["type"].(string)
	if _, ok := srv["command"]; ok && typ == "" {
		typ = "stdio" // the default transport (D:mcp)
	}
	switch typ {
	case "http", "sse":
	case "stdio":
		return mcpServer{}, "a stdio server runs a program of the host, which the bottle does not have"
	default:
		return mcpServer{}, fmt.Sprintf("transport %q cannot be reached from a bottle (http and sse can)", printable(typ))
	}
	raw, _ := srv["url"].(string)
	host, why := checkMCPURL(raw)
	if why != "" {
		return mcpServer{}, why
	}
	out := mcpServer{Type: typ, URL: raw}
	for _, k := range sortedKeys(srv) {
		switch k {
		case "type", "url":
		case "headers":
			out.Headers = r.headers(label, srv[k])
		case "oauth":
			out.OAuth = r.oauth(label, srv[k])
		case "headersHelper":
			r.warn("%s: dropped headersHelper (it runs a host command that makes credentials)", label)
		default:
			r.note("%s: dropped %s (not a key claude-bottle knows to be safe)", label, printable(k))
		}
	}
	if !r.allowed(host) {
		r.warn("%s kept, but its host %s is not on the proxy's allowlist: add --allow-host %s, or approve it through --supervise", label, host, host)
	}
	return out, ""
}

// checkMCPURL returns the host of an http(s) URL that carries no
// credential: none in userinfo, none in a query parameter. The host of
// loopback is the guest itself, never the user's machine.
func checkMCPURL(raw string) (host, why string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", "its url is not an http(s) URL with a host"
	}
	if u.User != nil {
		return "", "its url carries credentials (user info)"
	}
	for k, vs := range u.Query() {
		if credentialName(k) || anyCredential(vs) {
			return "", fmt.Sprintf("its url carries a credential (query parameter %s)", printable(k))
		}
	}
	host = strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "", fmt.Sprintf("%s is the host's loopback, which a bottle does not reach", host)
	}
	return host, ""
}

func anyCredential(vs []string) bool {
	for _, v := range vs {
		if credentialValue(v) {
			return true
		}
	}
	return false
}

// headers keeps the headers that hold no credential. A credential's
// header (Authorization, X-API-Key, Cookie, …) is kept only when its value
// merely names a variable (envReference).
func (r *reader) headers(label string, v any) map[string]string {
	h, ok := v.(map[string]any)
	if !ok {
		r.warn("%s: dropped headers (not an object)", label)
		return nil
	}
	out := map[string]string{}
	for _, k := range sortedKeys(h) {
		s, isString := h[k].(string)
		switch {
		case !isString:
			r.note("%s: dropped header %s (not a string)", label, printable(k))
		case envReference.MatchString(s):
			out[k] = s
			if credentialName(k) {
				r.note("%s: kept header %s, a reference to a variable: pass it with --env for the bottle to send it", label, printable(k))
			}
		case credentialName(k) || credentialValue(s):
			r.warn("%s: dropped header %s (a credential; write it as ${VAR} and pass VAR with --env to use it in the bottle)", label, printable(k))
		default:
			out[k] = s
		}
	}
	return out
}

// oauthKeys are the server's OAuth settings (D:mcp, "Use pre-configured
// OAuth credentials", "fixed OAuth callback port", metadata override,
// scopes); none is a secret (a client secret goes to the credential
// store, never here). The tokens stay on the host: the guest signs in
// again (/mcp).
var oauthKeys = map[string]bool{"clientId": true, "callbackPort": true, "authServerMetadataUrl": true, "scopes": true}

func (r *reader) oauth(label string, v any) map[string]any {
	o, ok := v.(map[string]any)
	if !ok {
		r.note("%s: dropped oauth (not an object)", label)
		return nil
	}
	out := map[string]any{}
	for _, k := range sortedKeys(o) {
		if oauthKeys[k] {
			out[k] = o[k]
		} else {
			r.warn("%s: dropped oauth.%s (not a key claude-bottle knows to be safe)", label, printable(k))
		}
	}
	return out
}

// allowed says whether pipelock's allowlist lets host through: a name on
// it, or under a *.domain entry.
func (r *reader) allowed(host string) bool {
	for _, a := range r.o.AllowHosts {
		a = strings.ToLower(a)
		if a == host || (strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:])) {
			return true
		}
	}
	return false
}

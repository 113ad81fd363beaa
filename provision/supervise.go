package provision

import "strings"

// SuperviseURLPath holds supervise's URL in the guest, the bottle's secret
// and all (node, 0600). The MCP registration reads it there, so the secret
// is never in an argv on the host, where other users see argvs.
const SuperviseURLPath = Home + "/.claude-bottle-supervise-url"

// SuperviseURL is supervise's URL for the agent: base (http://HOST:PORT/)
// with the bottle's secret as its path, which supervise asks every request
// for (bundle/secret.go).
func SuperviseURL(base, secret string) string {
	return strings.TrimSuffix(base, "/") + "/" + secret + "/"
}

// superviseURLFile places supervise's URL for the registration; its content
// is never shown.
func superviseURLFile(live Live) File {
	return File{Path: SuperviseURLPath, Owner: Agent, Mode: 0o600,
		Content: []byte(SuperviseURL(live.SuperviseURL, live.Secret) + "\n")}
}

// registerArgv is `claude mcp add --scope user --transport http supervise
// URL`, the URL read in the guest from SuperviseURLPath.
func registerArgv() []string {
	return []string{"sh", "-c", `exec claude mcp add --scope user --transport http supervise "$(cat ` + SuperviseURLPath + `)"`}
}

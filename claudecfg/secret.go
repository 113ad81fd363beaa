package claudecfg

import (
	"net/url"
	"regexp"
	"strings"
)

// credentialWords mark a name (an env variable, an HTTP header, a URL
// query parameter) as a credential's: the words of issue 12 (TOKEN, KEY,
// SECRET, PASSWORD, AUTH, CREDENTIAL) and a few more that carry the same
// (PASSWD, COOKIE, SESSION). A substring match drops more than it must
// (MONKEY, AUTHOR); a dropped name is always logged, so the user sees it
// and can pass the variable with --env.
var credentialWords = []string{"TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIAL", "COOKIE", "SESSION"}

func credentialName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range credentialWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// credentialPrefixes start well-known credential formats: Anthropic and
// OpenAI keys (sk-), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_,
// github_pat_), GitLab (glpat-), Slack (xox?-), AWS access key IDs (AKIA,
// ASIA), JWTs (eyJ), and an HTTP bearer value.
var credentialPrefixes = []string{"sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
	"xoxa-", "xoxb-", "xoxp-", "xoxs-", "AKIA", "ASIA", "eyJ", "Bearer ", "Basic "}

// credentialValue says whether a value under an innocent name still looks
// like a credential: a known credential format, or a URL with a password
// in it (postgres://user:pw@host).
func credentialValue(v string) bool {
	for _, p := range credentialPrefixes {
		if strings.HasPrefix(v, p) && len(v) > len(p)+8 {
			return true
		}
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return true
		}
	}
	return false
}

// envReference is a header value that only names a variable, as Claude
// Code expands ${VAR} in MCP server configs (D:mcp, "Environment variable
// expansion"), with at most a scheme word before it ("Bearer ${TOKEN}"):
// it holds no credential itself, and works in the guest when the user
// passes the variable with --env. A ${VAR:-default} is not one (the
// default may be the credential).
var envReference = regexp.MustCompile(`^(?:[A-Za-z]+ )?\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

package launch

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/provision"
)

// InputError is bad input: rejected before any command runs (exit code 2).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func badInput(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// MaxNameLen is the longest bottle name (bundle.MaxNameLen).
const MaxNameLen = bundle.MaxNameLen

// ValidateName checks a bottle name against the one rule for both backends.
func ValidateName(name string) error {
	if err := bundle.ValidateName(name); err != nil {
		return &InputError{Msg: err.Error()}
	}
	return nil
}

// Upstream is a git remote the gate serves as <Name>.git.
type Upstream = provision.Upstream

var upstreamNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// scpLikeRE matches git's scp-like syntax: [user@]host:path (no "//").
var scpLikeRE = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:.+$`)

// ParseUpstream parses one --upstream NAME=URL.
func ParseUpstream(s string) (Upstream, error) {
	name, u, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return Upstream{}, badInput("invalid --upstream %q: want NAME=URL", s)
	case name == "":
		return Upstream{}, badInput("invalid --upstream %q: empty name", s)
	case u == "":
		return Upstream{}, badInput("invalid --upstream %q: empty URL", s)
	case !upstreamNameRE.MatchString(name) || len(name) > 64:
		return Upstream{}, badInput("invalid --upstream %q: name must be letters, digits, '_' and '-' (at most 64)", s)
	}
	if err := checkGitURL(u); err != nil {
		return Upstream{}, badInput("invalid --upstream %q: %v", s, err)
	}
	return Upstream{Name: name, URL: u}, nil
}

// checkGitURL accepts the remote URL forms the bundle can reach: https, http,
// ssh, git and scp-like [user@]host:path. Local paths and file:// are refused:
// the bundle cannot see the host's files.
func checkGitURL(s string) error {
	if strings.ContainsAny(s, " \t\n\r") {
		return fmt.Errorf("URL contains white space")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("not a git URL: %v", err)
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git":
		default:
			return fmt.Errorf("not a git URL: scheme %q (want https, http, ssh or git)", u.Scheme)
		}
		if u.Host == "" || u.Path == "" || u.Path == "/" {
			return fmt.Errorf("not a git URL: want SCHEME://HOST/PATH")
		}
		if _, hasPass := u.User.Password(); hasPass || (u.User != nil && u.Scheme != "ssh") {
			// A token in https://TOKEN@host/ would reach the agent's gitconfig.
			return fmt.Errorf("URL carries credentials: give them to the bundle with --git-credential")
		}
		return nil
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || !scpLikeRE.MatchString(s) {
		return fmt.Errorf("not a git URL (local paths are not reachable from the bundle)")
	}
	return nil
}

// envNameRE is a POSIX environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnv parses one --env KEY[=VALUE]. A KEY without a value is passed by
// name: its value is taken from claude-bottle's environment and never
// appears in any argv.
func ParseEnv(s string) (EnvVar, error) {
	k, v, hasValue := strings.Cut(s, "=")
	if !envNameRE.MatchString(k) {
		return EnvVar{}, badInput("invalid --env %q: %q is not a variable name", s, k)
	}
	if !hasValue {
		return EnvVar{Name: k, ByName: true}, nil
	}
	return EnvVar{Name: k, Value: v}, nil
}

// parsePair parses NAME=VALUE for flags such as --git-credential.
func parsePair(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return "", "", badInput("invalid %s %q: want NAME=PATH", flag, s)
	}
	return k, v, nil
}

var hostRE = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkHost validates an --allow-host value: a host name, optionally *.-prefixed.
func checkHost(h string) error {
	if len(h) > 253 || !hostRE.MatchString(h) {
		return badInput("invalid --allow-host %q: want a host name such as example.com or *.example.com", h)
	}
	return nil
}

// UpstreamPolicy loosens the gate's ref policy for one upstream
// (--upstream-policy NAME=force[,delete]): Force lets pushes rewrite the
// default branch and move tags, Delete lets them delete refs.
type UpstreamPolicy struct {
	Force, Delete bool
}

// ParseUpstreamPolicy parses one --upstream-policy NAME=force[,delete].
func ParseUpstreamPolicy(s string) (string, UpstreamPolicy, error) {
	name, words, ok := strings.Cut(s, "=")
	if !ok || name == "" || words == "" {
		return "", UpstreamPolicy{}, badInput("invalid --upstream-policy %q: want NAME=force, NAME=delete or NAME=force,delete", s)
	}
	var p UpstreamPolicy
	for _, w := range strings.Split(words, ",") {
		switch {
		case w == "force" && !p.Force:
			p.Force = true
		case w == "delete" && !p.Delete:
			p.Delete = true
		default:
			return "", UpstreamPolicy{}, badInput("invalid --upstream-policy %q: %q is not force or delete (each at most once)", s, w)
		}
	}
	return name, p, nil
}

// upstreamPolicies parses every --upstream-policy; each names an --upstream,
// once.
func upstreamPolicies(flags []string, ups []Upstream) (map[string]UpstreamPolicy, error) {
	out := map[string]UpstreamPolicy{}
	for _, s := range flags {
		name, p, err := ParseUpstreamPolicy(s)
		if err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, badInput("invalid --upstream-policy %q: %s given twice", s, name)
		}
		if !slices.ContainsFunc(ups, func(u Upstream) bool { return u.Name == name }) {
			return nil, badInput("invalid --upstream-policy %q: no --upstream named %s", s, name)
		}
		out[name] = p
	}
	return out, nil
}

package launch

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/claudecfg"
	"github.com/claude-bottle/claude-bottle/provision"
)

// Egress keeps the user's model credential out of the guest: the guest
// gets a bottle token under the credential's name and egress's URL as
// ANTHROPIC_BASE_URL; egress, in the bundle, swaps the token for the real
// credential, which reaches the bundle alone, by name. The guest's direct
// route to the model API closes (its hosts leave the allowlist), so the
// model is reached through egress only, always with the user's own
// credential.

// --egress values.
const (
	EgressOn  = "on"
	EgressOff = "off"
)

// ModelAPI is where egress sends the guest's requests unless the host has
// an ANTHROPIC_BASE_URL of its own (a corporate gateway).
const ModelAPI = "https://api.anthropic.com"

// baseURLEnv is Claude Code's custom endpoint: on the host, egress's
// upstream; in the guest, egress.
const baseURLEnv = "ANTHROPIC_BASE_URL"

// egressURL is the guest's ANTHROPIC_BASE_URL: reached through pipelock,
// which tunnels it untouched to the bundle's loopback.
var egressURL = "https://" + net.JoinHostPort(bundle.EgressHost, strconv.Itoa(bundle.EgressPort))

// Egress is the credential boundary's part of the plan.
type Egress struct {
	// Credential names the host variable egress sends: bundle.APIKeyEnv or
	// bundle.OAuthTokenEnv. The guest holds the token under that name.
	Credential string
	// Upstream is the model API, and UpstreamFrom where it came from
	// (baseURLEnv, or "" for the default).
	Upstream, UpstreamFrom string
	// Token is the bottle token: random per bottle, held by the bundle and
	// the guest only, worthless anywhere else. It is never printed: the
	// runtimes take it from their own command's environment.
	Token string
}

// ModelCredential names the credential Claude Code uses on this host: the
// API key before the OAuth token, Claude Code's own order
// (D:authentication); "" when neither is set.
func ModelCredential(getenv func(string) (string, bool)) string {
	for _, name := range []string{bundle.APIKeyEnv, bundle.OAuthTokenEnv} {
		if v, _ := getenv(name); v != "" {
			return name
		}
	}
	return ""
}

// setEgress decides egress: --egress on (the default) runs it when the
// host has a model credential; off passes the credential into the guest by
// name, as before egress, and the launch warns.
func (p *Plan) setEgress(o Options, getenv func(string) (string, bool)) error {
	cred := ModelCredential(getenv)
	switch o.Egress {
	case EgressOn, "":
	case EgressOff:
		p.credentialInGuest = cred
		return nil
	default:
		return badInput("unknown --egress %q: want on or off", o.Egress)
	}
	if cred == "" {
		return nil // nothing to keep out: the guest has no model credential
	}
	up, from, err := egressUpstream(getenv)
	if err != nil {
		return err
	}
	p.Egress = &Egress{Credential: cred, Upstream: up, UpstreamFrom: from, Token: bottleToken(cred)}
	return nil
}

// egressUpstream is the host's ANTHROPIC_BASE_URL, checked (egress sends
// the user's credential there: https, no credentials of its own in the
// URL), or the default model API.
func egressUpstream(getenv func(string) (string, bool)) (upstream, from string, err error) {
	v, _ := getenv(baseURLEnv)
	if v == "" {
		return ModelAPI, "", nil
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "", "", badInput("invalid %s %q for egress: %v", baseURLEnv, v, err)
	case u.Scheme != "https" || u.Host == "":
		return "", "", badInput("invalid %s %q for egress: want an https URL (egress sends your credential there)", baseURLEnv, v)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", "", badInput("invalid %s for egress: no credentials, query or fragment in the URL", baseURLEnv)
	}
	return strings.TrimSuffix(v, "/"), baseURLEnv, nil
}

// bottleToken is a new random token shaped like the credential it stands
// for (Claude Code may check a key's prefix; pipelock's DLP then also
// catches it outside egress's tunnel).
func bottleToken(cred string) string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand: never fails
	prefix := "sk-ant-api03-bottle-"
	if cred == bundle.OAuthTokenEnv {
		prefix = "sk-ant-oat01-bottle-"
	}
	return prefix + hex.EncodeToString(b)
}

// egressReserved are the guest variables egress sets: a --env of one would
// put a real credential back in the guest or route around egress.
var egressReserved = map[string]bool{bundle.APIKeyEnv: true, bundle.OAuthTokenEnv: true, baseURLEnv: true}

// egressDefaults are guest variables a user may override with --env. The
// fast-mode check calls api.anthropic.com even with ANTHROPIC_BASE_URL set,
// and the guest no longer reaches it: its network errors are not fatal
// (claude-code-facts: Credentials and custom endpoints). The non-essential
// traffic switch turns the check off too; this holds if a --env turns
// that switch back on.
var egressDefaults = []EnvVar{{Name: "CLAUDE_CODE_SKIP_FAST_MODE_NETWORK_ERRORS", Value: "1"}}

// guestEnv is what egress puts in the guest's environment: the bottle
// token under the credential's name, egress's URL, and the defaults the
// user's env does not set.
func (e *Egress) guestEnv(user []EnvVar) []EnvVar {
	env := []EnvVar{{Name: e.Credential, ByName: true, Token: true}, {Name: baseURLEnv, Value: egressURL}}
	for _, d := range egressDefaults {
		if !hasEnv(user, d.Name) {
			env = append(env, d)
		}
	}
	return env
}

// configure adds egress to the bundle's spec: the daemon, where it sends
// and with what, and pipelock's tunnel to it (past the SSRF guard, passed
// through untouched; allowHosts allowlists it, without the model hosts). The
// trust is fixed here, so a reload after a supervise approval keeps it
// (pipelock refuses a reload that widens trust).
func (e *Egress) configure(spec *bundle.Spec) {
	spec.Daemons = append(spec.Daemons, bundle.Egress)
	spec.Egress = &bundle.EgressSpec{Upstream: e.Upstream, Credential: e.Credential}
	spec.Trust.Domains = append(spec.Trust.Domains, bundle.EgressHost)
	spec.Trust.Passthrough = append(spec.Trust.Passthrough, bundle.EgressHost)
}

// allowHosts is the guest's allowlist: with egress on, egress's name
// instead of Claude Code's hosts.
func (p *Plan) allowHosts(extra []string) []string {
	if p.Egress != nil {
		return bundle.EgressAllowHosts(extra)
	}
	return bundle.AllowHosts(extra)
}

// bundleArgs are egress's flags of the bundle's docker create: its name
// resolves to the bundle's loopback (for pipelock's tunnel); the real
// credential by name from claude-bottle's environment, the token by name
// from the command's own (bundleCmdEnv).
func (e *Egress) bundleArgs() []string {
	if e == nil {
		return nil
	}
	return []string{
		"--add-host", bundle.EgressHost + ":127.0.0.1", // pipelock dials egress on the bundle's loopback
		"-e", e.Credential, // the user's credential: into the bundle only, by name
		"-e", bundle.EgressTokenEnv,
	}
}

// cmdEnv is the environment a command that passes the token by name needs.
func (e *Egress) cmdEnv(name string) []string {
	if e == nil {
		return nil
	}
	return []string{name + "=" + e.Token}
}

// bundleNote says, in the dry-run, what the bundle's variables hold.
func (e *Egress) bundleNote() []string {
	if e == nil {
		return nil
	}
	return []string{fmt.Sprintf("egress: %s from claude-bottle's environment; %s, the bottle token, from this command's (never shown)",
		e.Credential, bundle.EgressTokenEnv)}
}

// tokenNote says, in the dry-run, which of a guest's variables hold the
// bottle token.
func tokenNote(env []EnvVar) []string {
	var out []string
	for _, e := range env {
		if e.Token {
			out = append(out, fmt.Sprintf("egress: the guest's %s is the bottle token (never shown), not your credential", e.Name))
		}
	}
	return out
}

// dockerTokenEnv is the docker run's own environment: each token variable
// under its own name (docker run -e NAME reads it there).
func (e *Egress) dockerTokenEnv(env []EnvVar) []string {
	var out []string
	for _, v := range env {
		if v.Token {
			out = append(out, e.cmdEnv(v.Name)...)
		}
	}
	return out
}

// onboarded makes sure the guest's Claude Code starts with onboarding done
// when egress is on: its first-run check calls api.anthropic.com and
// platform.claude.com, which the guest no longer reaches, and exits when
// it fails unless onboarding is marked done (claude-code-facts: First-run
// prompts; I#26935). The Claude setup's generated ~/.claude.json marks it;
// a bare setup gets a file that says only that.
func onboarded(setup provision.ClaudeSetup) provision.ClaudeSetup {
	for _, f := range setup.Files {
		if f.Path == claudecfg.GuestJSON {
			return setup
		}
	}
	content := []byte("{\n  \"hasCompletedOnboarding\": true\n}\n")
	setup.Files = append(setup.Files, provision.File{Path: claudecfg.GuestJSON, Owner: provision.Agent, Mode: 0o600,
		Content: content, Show: true})
	return setup
}

// egressLog is what the launch says about the model credential.
func (p *Plan) egressLog() (msg string, warn bool) {
	switch {
	case p.Egress != nil:
		return fmt.Sprintf("egress: the guest holds a bottle token as %s; egress sends your %s to %s", p.Egress.Credential,
			p.Egress.Credential, p.Egress.Upstream), false
	case p.credentialInGuest != "":
		return fmt.Sprintf("--egress off: your %s goes into the guest, where the agent can read it", p.credentialInGuest), true
	}
	return "", false
}

// egressCheck is doctor's line: which credential egress will use and
// where it came from, by name.
func egressCheck(getenv func(string) (string, bool)) Check {
	c := Check{What: "egress", Needed: true}
	cred := ModelCredential(getenv)
	if cred == "" {
		c.Needed = false
		c.Detail = "no " + bundle.APIKeyEnv + " or " + bundle.OAuthTokenEnv + " set: egress will not run and the guest has no model credential"
		c.Fix = "export " + bundle.APIKeyEnv + " (a Console API key) or " + bundle.OAuthTokenEnv + " (claude setup-token)"
		return c
	}
	up, from, err := egressUpstream(getenv)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "fix or unset "+baseURLEnv
		return c
	}
	if from == "" {
		from = "the default"
	}
	c.OK = true
	c.Detail = fmt.Sprintf("sends %s (from claude-bottle's environment) to %s (%s); the guest gets a bottle token", cred, up, from)
	return c
}

// logEgress says how the model credential reaches the model: through
// egress, or (--egress off) in the guest, with a warning.
func (s *session) logEgress() {
	msg, warn := s.p.egressLog()
	switch {
	case msg == "":
	case warn:
		s.Log.Warn(msg)
	default:
		s.Log.Info(msg)
	}
}

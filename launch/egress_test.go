package launch

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/claudecfg"
	"github.com/claude-bottle/claude-bottle/shell"
)

const realKey = "sk-ant-api03-the-users-real-key-0123456789"

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func guestVar(p *Plan, name string) (EnvVar, bool) {
	for _, e := range p.Env {
		if e.Name == name {
			return e, true
		}
	}
	return EnvVar{}, false
}

// TestEgressPlan: with a model credential on the host, egress runs; the
// guest gets the bottle token under the credential's name and egress's
// URL, never the credential; the model hosts leave the allowlist;
// pipelock trusts egress's name from the start; 8080 is published on no
// backend.
func TestEgressPlan(t *testing.T) {
	for _, c := range []struct {
		name, cred, prefix string
		env                map[string]string
	}{
		{"api key", bundle.APIKeyEnv, "sk-ant-api03-bottle-", map[string]string{bundle.APIKeyEnv: realKey}},
		{"oauth token", bundle.OAuthTokenEnv, "sk-ant-oat01-bottle-", map[string]string{bundle.OAuthTokenEnv: "sk-ant-oat01-real"}},
		{"both: the api key, as Claude Code picks", bundle.APIKeyEnv, "sk-ant-api03-bottle-",
			map[string]string{bundle.APIKeyEnv: realKey, bundle.OAuthTokenEnv: "sk-ant-oat01-real"}},
	} {
		for _, backend := range []string{Docker, Smolmachines} {
			t.Run(c.name+"/"+backend, func(t *testing.T) {
				o := hostFileOptions()
				o.Backend, o.Supervise, o.Upstreams = backend, true, []string{"origin=https://github.com/acme/app.git"}
				o.AllowHosts = []string{"pypi.org"}
				p, err := Prepare(o, envOf(c.env), "x")
				if err != nil {
					t.Fatal(err)
				}
				e := p.Egress
				if e == nil || e.Credential != c.cred || e.Upstream != ModelAPI || !strings.HasPrefix(e.Token, c.prefix) || len(e.Token) != len(c.prefix)+64 {
					t.Fatalf("egress %+v", e)
				}
				if v, ok := guestVar(p, c.cred); !ok || !v.Token || !v.ByName || v.Value != "" {
					t.Errorf("guest %s = %+v, want the bottle token by name", c.cred, v)
				}
				for _, other := range []string{bundle.APIKeyEnv, bundle.OAuthTokenEnv} {
					if v, ok := guestVar(p, other); other != c.cred && ok {
						t.Errorf("the guest also gets %+v", v)
					}
				}
				if v, _ := guestVar(p, baseURLEnv); v.Value != "https://egress.bottle.internal:8080" {
					t.Errorf("guest %s = %+v", baseURLEnv, v)
				}
				spec := p.Bundle.Spec
				if !spec.Has(bundle.Egress) || spec.Egress == nil || spec.Egress.Credential != c.cred || spec.Egress.Upstream != ModelAPI {
					t.Errorf("spec: %+v", spec)
				}
				if got := strings.Join(spec.AllowHosts, " "); got != "egress.bottle.internal pypi.org" {
					t.Errorf("allowlist %s: want egress's name and --allow-host only", got)
				}
				if !slices.Contains(spec.Trust.Domains, bundle.EgressHost) || !slices.Contains(spec.Trust.Passthrough, bundle.EgressHost) {
					t.Errorf("trust %+v", spec.Trust)
				}
				if slices.Contains(p.Bundle.PortsToPublish, bundle.EgressPort) {
					t.Errorf("publishes %v", p.Bundle.PortsToPublish)
				}
				if strings.Contains(string(spec.Marshal()), e.Token) || strings.Contains(string(spec.Marshal()), realKey) {
					t.Error("the spec holds a secret")
				}
			})
		}
	}
}

// TestEgressOffAndWithoutCredential: --egress off passes the credential
// into the guest by name as before (and the launch warns); with no
// credential egress does not run and the allowlist is Claude Code's.
func TestEgressOffAndWithoutCredential(t *testing.T) {
	o := hostFileOptions()
	o.Egress = EgressOff
	p, err := Prepare(o, envOf(map[string]string{bundle.APIKeyEnv: realKey}), "x")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := guestVar(p, bundle.APIKeyEnv); p.Egress != nil || !ok || v.Token || !v.ByName {
		t.Errorf("egress %+v, guest %+v", p.Egress, v)
	}
	if msg, warn := p.egressLog(); !warn || !strings.Contains(msg, "--egress off: your ANTHROPIC_API_KEY goes into the guest") {
		t.Errorf("log %q (warn %v)", msg, warn)
	}
	if _, ok := guestVar(p, baseURLEnv); ok || p.Bundle.Spec.Has(bundle.Egress) {
		t.Error("egress off still points the guest at egress")
	}

	p, err = Prepare(hostFileOptions(), envOf(nil), "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.Egress != nil || len(p.Env) != 0 || !slices.Contains(p.Bundle.Spec.AllowHosts, "api.anthropic.com") {
		t.Errorf("no credential: egress %+v, env %+v, allowlist %v", p.Egress, p.Env, p.Bundle.Spec.AllowHosts)
	}
}

// TestEgressInputs: the host's ANTHROPIC_BASE_URL is egress's upstream
// when it is an https URL without credentials; a --env of what egress
// sets would undo it; an unknown --egress is bad input.
func TestEgressInputs(t *testing.T) {
	env := map[string]string{bundle.APIKeyEnv: realKey, baseURLEnv: "https://llm.corp.example/anthropic/"}
	p, err := Prepare(hostFileOptions(), envOf(env), "x")
	if err != nil || p.Egress.Upstream != "https://llm.corp.example/anthropic" || p.Egress.UpstreamFrom != baseURLEnv {
		t.Fatalf("egress %+v, %v", p.Egress, err)
	}
	for _, c := range []struct {
		baseURL, env, egress, want string
	}{
		{"http://llm.corp.example", "", "", "want an https URL"},
		{"https://user:pw@llm.corp.example", "", "", "no credentials"},
		{"https://llm.corp.example/?key=x", "", "", "no credentials, query"},
		{"", bundle.APIKeyEnv + "=sk-other", "", "with egress on, ANTHROPIC_API_KEY is egress's"},
		{"", bundle.OAuthTokenEnv, "", "with egress on, CLAUDE_CODE_OAUTH_TOKEN is egress's"},
		{"", baseURLEnv + "=https://elsewhere.example", "", "with egress on, ANTHROPIC_BASE_URL is egress's"},
		{"", "", "maybe", `unknown --egress "maybe"`},
	} {
		env := map[string]string{bundle.APIKeyEnv: realKey, bundle.OAuthTokenEnv: "x"}
		if c.baseURL != "" {
			env[baseURLEnv] = c.baseURL
		}
		o := hostFileOptions()
		o.Egress = c.egress
		if c.env != "" {
			o.Env = []string{c.env}
		}
		_, err := Prepare(o, envOf(env), "x")
		var in *InputError
		if !errors.As(err, &in) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want an input error with %q", c, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the error shows the URL's password: %v", err)
		}
	}
	o := hostFileOptions()
	o.Egress, o.Env = EgressOff, []string{bundle.APIKeyEnv + "=sk-other"}
	if _, err := Prepare(o, envOf(map[string]string{bundle.APIKeyEnv: realKey}), "x"); err != nil {
		t.Errorf("--egress off takes --env %s: %v", bundle.APIKeyEnv, err)
	}
}

// TestEgressOnboardsABareSetup: the guest no longer reaches the hosts of
// Claude Code's first-run check, so even a bare Claude Code starts with
// onboarding done.
func TestEgressOnboardsABareSetup(t *testing.T) {
	o := hostFileOptions()
	o.ClaudeConfig = claudecfg.None
	p, err := Prepare(o, envOf(map[string]string{bundle.APIKeyEnv: realKey}), "x")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, f := range p.Guest.Claude.Files {
		if f.Path == claudecfg.GuestJSON {
			got = string(f.Content)
		}
	}
	if got != "{\n  \"hasCompletedOnboarding\": true\n}\n" {
		t.Errorf("%s = %q", claudecfg.GuestJSON, got)
	}
}

// recorded is every command of a launch through a recorder, with each
// command's own environment (the recorder keeps names only; this keeps
// values, for the test to check where the token went).
type recorded struct {
	mu   sync.Mutex
	cmds []shell.Cmd
}

func (r *recorded) answer(_ int, c shell.Cmd) shell.Reply {
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.mu.Unlock()
	if len(c.Argv) == 4 && c.Argv[1] == "port" {
		return shell.Reply{Stdout: "127.0.0.1:40000\n"}
	}
	return shell.Reply{}
}

// TestEgressTokenGoesByNameOnly: a real launch hands the token to exactly
// the commands that pass it by name (the bundle's create; the agent's
// run, or the machine's create and start), in their own environment; no
// argv holds the token or the credential; the agent's reference on
// smolmachines names the token's variable, never the credential's.
func TestEgressTokenGoesByNameOnly(t *testing.T) {
	for _, c := range []struct {
		backend  string
		withEnv  []string // commands (argv prefixes) that get the token
		agentArg string
	}{
		{Docker, []string{"docker create", "docker run"}, "-e ANTHROPIC_API_KEY"},
		{Smolmachines, []string{"docker create", "smolvm machine create", "smolvm machine start"},
			"--secret-env ANTHROPIC_API_KEY=CLAUDE_BOTTLE_EGRESS_TOKEN"},
	} {
		t.Run(c.backend, func(t *testing.T) {
			o := hostFileOptions()
			o.Backend, o.SmolvmNet, o.Detach = c.backend, NetTSI, true
			p, err := Prepare(o, envOf(map[string]string{bundle.APIKeyEnv: realKey}), "x")
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorded{}
			log := logrus.New()
			log.SetOutput(io.Discard)
			l := &Launcher{R: &shell.Recorder{Answer: rec.answer}, Log: log, Out: io.Discard, Now: time.Now, FS: NoFS{}, Serial: true}
			if err := l.Launch(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			var gotEnv []string
			for _, cmd := range rec.cmds {
				line := shell.Join(cmd.Argv)
				if strings.Contains(line, p.Egress.Token) || strings.Contains(line, realKey) {
					t.Errorf("an argv holds a secret: %s", line)
				}
				if len(cmd.Env) == 0 {
					continue
				}
				gotEnv = append(gotEnv, strings.Join(cmd.Argv[:2], " ")+" "+cmd.Argv[2])
				want := bundle.EgressTokenEnv + "=" + p.Egress.Token
				if cmd.Argv[1] == "run" {
					want = bundle.APIKeyEnv + "=" + p.Egress.Token // docker run -e NAME reads NAME
					if !strings.Contains(line, " "+c.agentArg+" ") {
						t.Errorf("agent run: %s", line)
					}
				}
				if strings.Join(cmd.Env, " ") != want {
					t.Errorf("%s: env %v", line, cmd.Env)
				}
				if cmd.Argv[1] == "create" && cmd.Argv[0] == "docker" &&
					!strings.Contains(line, " --add-host egress.bottle.internal:127.0.0.1 -e ANTHROPIC_API_KEY -e CLAUDE_BOTTLE_EGRESS_TOKEN ") {
					t.Errorf("bundle create: %s", line)
				}
				if cmd.Argv[0] == "smolvm" && cmd.Argv[2] == "create" && !strings.Contains(line, " "+c.agentArg+" ") {
					t.Errorf("machine create: %s", line)
				}
			}
			var prefixes []string
			for _, g := range gotEnv {
				f := strings.Fields(g)
				if f[0] == "docker" {
					f = f[:2]
				}
				prefixes = append(prefixes, strings.Join(f, " "))
			}
			if strings.Join(prefixes, ", ") != strings.Join(c.withEnv, ", ") {
				t.Errorf("commands with the token: %v, want %v", prefixes, c.withEnv)
			}
		})
	}
}

// TestDoctorSaysWhichCredential: doctor names the credential egress will
// send and where to, by name; a bad ANTHROPIC_BASE_URL fails it; none is
// a warning.
func TestDoctorSaysWhichCredential(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{bundle.OAuthTokenEnv: "sk-ant-oat01-real"},
			"ok   egress: sends CLAUDE_CODE_OAUTH_TOKEN (from claude-bottle's environment) to https://api.anthropic.com (the default)"},
		{map[string]string{bundle.APIKeyEnv: realKey, baseURLEnv: "https://gw.example/v1"},
			"ok   egress: sends ANTHROPIC_API_KEY (from claude-bottle's environment) to https://gw.example/v1 (ANTHROPIC_BASE_URL)"},
		{map[string]string{bundle.APIKeyEnv: realKey, baseURLEnv: "http://gw.example"}, "fail egress: invalid ANTHROPIC_BASE_URL"},
		{nil, "warn egress: no ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN set"},
	} {
		var out strings.Builder
		PrintChecks(&out, []Check{egressCheck(envOf(c.env))})
		if !strings.HasPrefix(out.String(), c.want) || strings.Contains(out.String(), realKey) {
			t.Errorf("doctor printed %q, want %q", out.String(), c.want)
		}
	}
}

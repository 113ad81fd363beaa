package launch

import (
	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/claudecfg"
	"github.com/claude-bottle/claude-bottle/provision"
)

// claudeSetup reads the user's Claude Code setup for the guest
// (--claude-config; claudecfg.Read). It runs after setEnv: the API key it
// approves is the one the guest will hold.
func (p *Plan) claudeSetup(o Options, skills []provision.Skill, getenv func(string) (string, bool)) (provision.ClaudeSetup, error) {
	var names []string
	for _, s := range skills {
		names = append(names, s.Name)
	}
	setup, err := claudecfg.Read(claudecfg.Options{
		Flag: o.ClaudeConfig, Getenv: getenv, APIKey: p.guestValue(bundle.APIKeyEnv, getenv),
		Skills: names, Supervise: o.Supervise, AllowHosts: p.allowHosts(o.AllowHosts), Workspace: provision.Workspace,
	})
	if err != nil {
		return setup, badInput("%v", err)
	}
	return setup, nil
}

// guestValue is the value the guest's variable name will have: given with
// --env, the bottle token, or passed by name from claude-bottle's
// environment.
func (p *Plan) guestValue(name string, getenv func(string) (string, bool)) string {
	for _, e := range p.Env {
		if e.Name != name {
			continue
		}
		if e.Token {
			return p.Egress.Token
		}
		if e.ByName {
			v, _ := getenv(name)
			return v
		}
		return e.Value
	}
	return ""
}

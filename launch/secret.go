package launch

import (
	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/provision"
)

// setSecret makes the bottle's secret when the bundle runs a daemon that
// asks for it (git-gate, supervise: bundle/secret.go) and returns the file
// that places it in the bundle, root 0600 and never shown. The guest gets
// it in its files only (the gitconfig, supervise's URL file), never in an
// argv or its environment.
func (p *Plan) setSecret(spec bundle.Spec) ([]provision.File, error) {
	if !spec.Has(bundle.GitGate) && !spec.Has(bundle.Supervise) {
		return nil, nil
	}
	s, err := bundle.NewSecret()
	if err != nil {
		return nil, err
	}
	p.Secret = s
	return []provision.File{{Path: bundle.SecretPath, Mode: 0o600, Content: []byte(s + "\n")}}, nil
}

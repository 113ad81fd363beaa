package sidecar

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// secretHolders are the daemons that answer only requests carrying the
// bottle's secret (bundle/secret.go): every agent-facing one but pipelock.
var secretHolders = []string{bundle.GitGate, bundle.Supervise}

// launchSecret is where the launch placed the bottle's secret: beside the
// spec, as bundle.SecretPath is beside bundle.SpecPath.
func (p paths) launchSecret() string { return filepath.Join(filepath.Dir(p.Spec), "secret") }

// daemonSecret is a daemon's copy of the secret (bundle.DaemonSecretPath).
func (p paths) daemonSecret(daemon string) string { return filepath.Join(p.RunDir, "secrets", daemon) }

// handOutSecret gives each daemon of the spec that checks the secret a copy
// of its own, readable by its user alone, from the launch's root-only file.
// A spec with such a daemon and no secret does not start: its port would
// answer anyone.
func (c initConfig) handOutSecret(spec bundle.Spec) error {
	var items []owned
	for _, d := range secretHolders {
		if spec.Has(d) {
			items = append(items, owned{path: c.daemonSecret(d), owner: d, mode: 0o400})
		}
	}
	if len(items) == 0 {
		return nil
	}
	secret, err := bundle.ReadSecret(c.launchSecret())
	if err != nil {
		return fmt.Errorf("prepare secrets: %w (the launch places it: launch with the claude-bottle of this bundle image)", err)
	}
	if err := os.MkdirAll(filepath.Join(c.RunDir, "secrets"), 0o755); err != nil {
		return fmt.Errorf("prepare secrets: %w", err)
	}
	for _, it := range items {
		// A copy left by an earlier start is 0400: replace it.
		if err := os.Remove(it.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("prepare secrets: %w", err)
		}
		if err := os.WriteFile(it.path, []byte(secret+"\n"), 0o400); err != nil {
			return fmt.Errorf("prepare secrets: %w", err)
		}
	}
	return c.accts.handOut(items)
}

package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// Allowlist is pipelock's allowlist in the bundle: the launch's hosts (from
// the spec) plus the hosts supervise approved. Apply re-renders pipelock's
// config and makes pipelock reload it without a restart.
type Allowlist struct {
	SpecPath   string // the bundle spec, for the launch's allow_hosts
	ConfigPath string // pipelock's config, rewritten atomically
	PidPath    string // pipelock's PID, signalled with SIGHUP
	// ListenPath holds the address pipelock listens on, chosen by the
	// bundle's init (bundle.ListenPath); tests leave it empty for 127.0.0.1.
	ListenPath string
}

// DefaultAllowlist is the bundle's: bundle.SpecPath, bundle.PipelockConfigPath
// and pipelock's PID file.
func DefaultAllowlist() Allowlist {
	return Allowlist{
		SpecPath:   bundle.SpecPath,
		ConfigPath: bundle.PipelockConfigPath,
		PidPath:    bundle.PidPath(bundle.Pipelock),
		ListenPath: bundle.ListenPath,
	}
}

// Render is pipelock's config for the spec's hosts plus approved.
func (a Allowlist) Render(approved []string) ([]byte, error) {
	data, err := os.ReadFile(a.SpecPath)
	if err != nil {
		return nil, fmt.Errorf("render pipelock config: %w", err)
	}
	spec, err := bundle.ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("render pipelock config: %w", err)
	}
	listen := "127.0.0.1"
	if a.ListenPath != "" {
		b, err := os.ReadFile(a.ListenPath)
		if err != nil {
			return nil, fmt.Errorf("render pipelock config: the bundle's listen address: %w", err)
		}
		listen = strings.TrimSpace(string(b))
	}
	return bundle.PipelockFor(spec, listen, approved), nil
}

// Apply writes the config for approved (atomically) and signals pipelock to
// reload. It does nothing when the config on disk is already that one.
func (a Allowlist) Apply(approved []string) (changed bool, err error) {
	want, err := a.Render(approved)
	if err != nil {
		return false, err
	}
	if have, err := os.ReadFile(a.ConfigPath); err == nil && bytes.Equal(have, want) {
		return false, nil
	}
	// 0644: pipelock reads it as its own user; there is no secret in it.
	if err := writeAtomic(a.ConfigPath, want, 0o644); err != nil {
		return false, fmt.Errorf("write pipelock config: %w", err)
	}
	if err := a.Reload(); err != nil {
		return true, err
	}
	return true, nil
}

// Reload sends SIGHUP to pipelock, which re-reads its config.
func (a Allowlist) Reload() error {
	data, err := os.ReadFile(a.PidPath)
	if err != nil {
		return fmt.Errorf("reload pipelock: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("reload pipelock: bad pid %q in %s", strings.TrimSpace(string(data)), a.PidPath)
	}
	if err := hangUp(pid); err != nil {
		return fmt.Errorf("reload pipelock (pid %d): %w", pid, err)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place, so pipelock never reads a half-written config.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

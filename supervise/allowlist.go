package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// NormalizeHost checks that s is a bare hostname (no scheme, port, path or
// wildcard; at least two labels) and returns it lowercased, without a
// trailing dot.
func NormalizeHost(s string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if h == "" {
		return "", errors.New("host is empty")
	}
	if strings.ContainsAny(h, ":/*?#@ ") {
		return "", fmt.Errorf("host %q: want a bare hostname such as example.com (no scheme, port, path or wildcard)", s)
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %q: longer than 253 characters", s)
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("host %q: want a fully qualified name such as example.com", s)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Errorf("host %q: invalid label %q", s, l)
		}
	}
	return h, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// HostOfURL returns the normalized host of a blocked URL. A URL without a
// scheme is read as https.
func HostOfURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("url %q: no host", raw)
	}
	return NormalizeHost(u.Hostname())
}

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
	if err := writeAtomic(a.ConfigPath, want, 0o600); err != nil {
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

// Package sidecar is the inside of the bundle container: the init that runs
// as its PID 1 (pipelock, git-gate, supervise), the readiness wait the
// launcher calls, and git-gate's hooks. Everything is a subcommand of
// `claude-bottle sidecar`; see Command.
package sidecar

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
)

const (
	// defaultGrace is how long daemons get between SIGTERM and SIGKILL (design §8).
	defaultGrace = 8 * time.Second
	// defaultReadyTimeout bounds the wait for every daemon to accept connections.
	defaultReadyTimeout = 60 * time.Second
	// pollEvery is how often readiness (ports, the ready marker) is checked.
	pollEvery = 50 * time.Millisecond
)

// paths locates the bundle's files. defaultPaths are the bundle contract's
// constants; tests point every path into a temp dir.
type paths struct {
	Spec           string `json:"spec"`            // the bundle spec (JSON)
	PipelockConfig string `json:"pipelock_config"` // pipelock's YAML, placed by the launcher
	KnownHosts     string `json:"known_hosts"`     // pinned upstream SSH host keys
	RunDir         string `json:"run_dir"`         // ready marker, PID files, pipelock CA, git-gate hook and log
	GitRoot        string `json:"git_root"`        // one bare repository per upstream
	Binary         string `json:"binary"`          // claude-bottle itself, as hooks and supervise run it
}

func defaultPaths() paths {
	return paths{
		Spec:           bundle.SpecPath,
		PipelockConfig: bundle.PipelockConfigPath,
		KnownHosts:     bundle.KnownHostsPath,
		RunDir:         bundle.RunDir,
		GitRoot:        bundle.GitRoot,
		Binary:         bundle.Binary,
	}
}

func (p paths) readyPath() string            { return filepath.Join(p.RunDir, "ready") }
func (p paths) pidPath(daemon string) string { return filepath.Join(p.RunDir, daemon+".pid") }
func (p paths) caDir() string                { return filepath.Join(p.RunDir, "pipelock") }
func (p paths) caCert() string               { return filepath.Join(p.caDir(), "ca.pem") }
func (p paths) caKey() string                { return filepath.Join(p.caDir(), "ca-key.pem") }

// gateStateDir is git-gate's own state (its logs, locks), owned by the
// gate's user.
func (p paths) gateStateDir() string { return filepath.Join(p.RunDir, "git-gate") }

// listenPath records the address the daemons listen on (bundle.ListenPath).
func (p paths) listenPath() string { return filepath.Join(p.RunDir, "listen-address") }

// repoPath is the gate's bare repository of an upstream.
func (p paths) repoPath(upstream string) string {
	return filepath.Join(p.GitRoot, upstream+".git")
}

// loadSpec reads and parses the bundle spec.
func (p paths) loadSpec() (bundle.Spec, error) {
	data, err := os.ReadFile(p.Spec)
	if err != nil {
		return bundle.Spec{}, fmt.Errorf("read bundle spec: %w", err)
	}
	return bundle.ParseSpec(data)
}

// initConfig is everything `sidecar run` needs. defaultInitConfig is
// production; tests swap programs, ports and durations.
type initConfig struct {
	paths
	// pipelock is the pipelock program, looked up in PATH unless it has a slash.
	pipelock string
	// listenHost is the address every daemon binds; "" picks it at start
	// from the spec's Listen mode (listen.go).
	listenHost string
	net        netInfo
	// accounts finds the daemons' users (accounts.go); nil runs them as the
	// init's own user (tests).
	accounts func() (accounts, error)
	accts    accounts // what accounts found, once running
	// approved lists the hosts supervise approved (re-rendered into
	// pipelock's config at start); nil: none.
	approved func() ([]string, error)
	// Directories the init hands to the daemons' users.
	credentialDir, superviseDir, decisionsDir string
	// ports are the TCP ports each daemon must accept on (127.0.0.1) to be ready;
	// git-gate's front is also told to listen on ports[bundle.GitGate].
	ports        map[string]int
	grace        time.Duration
	readyTimeout time.Duration
	// env is the base environment of every child; proxy variables are stripped.
	env []string
	// egressEnv are the variables of env only egress gets (egressSecrets),
	// taken out of env at start.
	egressEnv []string
	// out receives the daemons' output, one prefixed line at a time (the container log).
	out io.Writer
	log logrus.FieldLogger
	// reap makes the init wait for any child (PID 1 or subreaper), not only its daemons.
	reap bool
}

func defaultInitConfig(p paths, log logrus.FieldLogger) initConfig {
	return initConfig{
		paths:    p,
		pipelock: "pipelock",
		net:      hostNetInfo(),
		accounts: productionAccounts,
		ports: map[string]int{
			bundle.Pipelock:  bundle.PipelockPort,
			bundle.GitGate:   bundle.GitGatePort,
			bundle.Supervise: bundle.SupervisePort,
			bundle.Egress:    bundle.EgressPort,
		},
		grace:         defaultGrace,
		readyTimeout:  defaultReadyTimeout,
		env:           os.Environ(),
		out:           os.Stdout,
		log:           log,
		reap:          true,
		credentialDir: bundle.CredentialDir,
		superviseDir:  bundle.SuperviseDir,
		decisionsDir:  bundle.SuperviseDecisionsDir,
		approved:      approvedHosts(bundle.SuperviseDir, bundle.SuperviseDecisionsDir),
	}
}

// productionAccounts are the bundle image's daemon users when the init runs
// as root (it always does in a bundle).
func productionAccounts() (accounts, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	return lookupAccounts()
}

package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

// The test binary doubles as the programs the init and git daemon run: it
// is linked into a temp dir under these names and, started under one of
// them, plays that role instead of running tests.
const (
	rolePipelock     = "pipelock"      // fake pipelock (tls init, run)
	roleClaudeBottle = "claude-bottle" // the real sidecar command, with a fake supervise
	roleInit         = "sidecar-init"  // the init as PID-1-like process (reap mode), for signal tests
)

// testBin is the directory holding the role links; set once by TestMain.
var testBin string

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case rolePipelock:
		os.Exit(fakePipelock(os.Args[1:]))
	case roleClaudeBottle:
		os.Exit(claudeBottle(os.Args))
	case roleInit:
		os.Exit(initProcess())
	}
	dir, err := linkRoles()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func linkRoles() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sidecar-test-bin-")
	if err != nil {
		return "", err
	}
	for _, role := range []string{rolePipelock, roleClaudeBottle, roleInit} {
		if err := os.Symlink(exe, filepath.Join(dir, role)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// claudeBottle runs `claude-bottle sidecar …` as production wires it, with a
// fake `sidecar supervise serve` registered the way package supervise does.
func claudeBottle(args []string) int {
	serve := &cli.Command{Name: "serve", Flags: []cli.Flag{&cli.StringFlag{Name: "listen"}}, Action: func(*cli.Context) error {
		return cli.Exit("", fakeDaemon("supervise", os.Getenv("FAKE_SUPERVISE")))
	}}
	app := &cli.App{
		Name:     "claude-bottle",
		Commands: []*cli.Command{Command(&cli.Command{Name: "supervise", Subcommands: []*cli.Command{serve}})},
	}
	if err := app.Run(args); err != nil {
		fmt.Fprintln(os.Stderr, "claude-bottle:", err)
		return 1
	}
	return 0
}

// initTestConfig is how a test hands an init config to a roleInit process.
type initTestConfig struct {
	Paths        paths          `json:"paths"`
	Pipelock     string         `json:"pipelock"`
	Ports        map[string]int `json:"ports"`
	Grace        time.Duration  `json:"grace"`
	ReadyTimeout time.Duration  `json:"ready_timeout"`
	Env          []string       `json:"env"`
}

const initConfigEnv = "SIDECAR_TEST_INIT"

// initProcess runs the init like `sidecar run` does (signals, reaping),
// configured from initConfigEnv.
func initProcess() int {
	var tc initTestConfig
	if err := json.Unmarshal([]byte(os.Getenv(initConfigEnv)), &tc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := logrus.New()
	log.SetLevel(logrus.DebugLevel)
	cfg := defaultInitConfig(tc.Paths, log)
	cfg.pipelock, cfg.ports, cfg.grace, cfg.readyTimeout, cfg.env = tc.Pipelock, tc.Ports, tc.Grace, tc.ReadyTimeout, tc.Env
	cfg.listenHost = "127.0.0.1"
	cfg.accounts = nil
	cfg.credentialDir, cfg.superviseDir, cfg.decisionsDir = filepath.Join(tc.Paths.RunDir, "credentials"),
		filepath.Join(tc.Paths.RunDir, "supervise"), filepath.Join(tc.Paths.RunDir, "supervise-decisions")
	cfg.approved = approvedHosts(cfg.superviseDir, cfg.decisionsDir)
	if err := cfg.runUntilSignal(context.Background()); err != nil {
		log.Error(err)
		return 1
	}
	return 0
}

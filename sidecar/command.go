package sidecar

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// Command is `claude-bottle sidecar`, which runs inside the bundle
// container: `run` (its PID 1), `wait` (readiness, for the launcher),
// `git-gate serve` and git-gate's hook. extra subcommands (supervise's server) hang beside them.
func Command(extra ...*cli.Command) *cli.Command {
	d := defaultPaths()
	return &cli.Command{
		Name:  "sidecar",
		Usage: "runs inside the bundle container",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Value: d.Spec, Usage: "bundle spec (JSON)"},
			&cli.StringFlag{Name: "pipelock-config", Value: d.PipelockConfig, Usage: "pipelock config"},
			&cli.StringFlag{Name: "known-hosts", Value: d.KnownHosts, Usage: "pinned SSH host keys of the upstreams"},
			&cli.StringFlag{Name: "run-dir", Value: d.RunDir, Usage: "state the bundle creates at start"},
			&cli.StringFlag{Name: "git-root", Value: d.GitRoot, Usage: "git-gate's repositories"},
			&cli.StringFlag{Name: "binary", Value: d.Binary, Usage: "claude-bottle binary that hooks and supervise run"},
		},
		Subcommands: append([]*cli.Command{
			runCommand(), waitCommand(), gitGateCommand(), egressCommand(), preReceiveCommand(),
		}, extra...),
	}
}

// pathsFrom reads the sidecar command's path flags.
func pathsFrom(c *cli.Context) paths {
	return paths{
		Spec:           c.String("spec"),
		PipelockConfig: c.String("pipelock-config"),
		KnownHosts:     c.String("known-hosts"),
		RunDir:         c.String("run-dir"),
		GitRoot:        c.String("git-root"),
		Binary:         c.String("binary"),
	}
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "start the bundle's daemons and supervise them (the bundle's PID 1)",
		Description: "Creates pipelock's CA, starts pipelock and, as the spec asks, git-gate and supervise;\n" +
			"marks the bundle ready once each accepts connections. Exits non-zero as soon as a daemon\n" +
			"dies; on SIGTERM or SIGINT stops them all (SIGKILL after 8s) and exits 0.",
		Action: func(c *cli.Context) error {
			cfg := defaultInitConfig(pathsFrom(c), logrus.StandardLogger())
			return cfg.runUntilSignal(c.Context)
		},
	}
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:  "wait",
		Usage: "wait until the bundle is ready",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: defaultReadyTimeout, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			return waitReady(c.Context, pathsFrom(c).readyPath(), c.Duration("timeout"))
		},
	}
}

func gitGateCommand() *cli.Command {
	return &cli.Command{
		Name:  "git-gate",
		Usage: "git-gate, the bundle's git server",
		Subcommands: []*cli.Command{{
			Name:  "serve",
			Usage: "serve the upstreams' mirrors over git:// until SIGTERM or SIGINT",
			Description: "Reads each request line itself (host= is dropped, never resolved), refuses any service\n" +
				"but upload-pack and receive-pack and any repository but the spec's upstreams, refreshes\n" +
				"the mirror from its upstream (failing closed) and runs the service on the connection.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "listen", Required: true, Usage: "IP:PORT to listen on (an address: no name is looked up)"},
			},
			Action: serveGate,
		}},
	}
}

func serveGate(c *cli.Context) error {
	addr, err := netip.ParseAddrPort(c.String("listen"))
	if err != nil {
		return fmt.Errorf("git-gate: --listen: %w", err)
	}
	p := pathsFrom(c)
	spec, err := p.loadSpec()
	if err != nil {
		return fmt.Errorf("git-gate: %w", err)
	}
	secret, err := bundle.ReadSecret(p.daemonSecret(bundle.GitGate))
	if err != nil {
		return fmt.Errorf("git-gate: %w", err)
	}
	log := logrus.New()
	log.SetOutput(c.App.ErrWriter) // the init prefixes it into the bundle's log
	log.SetFormatter(visibleFormatter{&logrus.TextFormatter{DisableColors: true}})
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return fmt.Errorf("git-gate: %w", err)
	}
	log.Infof("listening on %s", ln.Addr())
	g := gate{paths: p, spec: spec, env: stripProxyEnv(os.Environ()), log: log}
	return newFront(g, secret).serve(ctx, ln)
}

func preReceiveCommand() *cli.Command {
	return &cli.Command{
		Name:   "git-pre-receive",
		Usage:  "pre-receive hook of git-gate's repositories: forwards the push to the upstream",
		Hidden: true,
		Action: func(c *cli.Context) error {
			g, closeLog, err := hookGate(c)
			if err != nil {
				return refuse(c, err)
			}
			defer closeLog()
			repo, err := os.Getwd() // git runs hooks in the bare repository
			if err != nil {
				return refuse(c, err)
			}
			ctx, cancel := context.WithTimeout(c.Context, hookTimeout)
			defer cancel()
			if err := g.preReceive(ctx, repo, c.App.Reader, c.App.ErrWriter); err != nil {
				return refuse(c, err)
			}
			return nil
		},
	}
}

// hookGate is the gate as a hook sees it: the spec, its log, and the
// environment git gave it (without the front's log descriptor, which the
// hook's own children do not get either).
func hookGate(c *cli.Context) (gate, func(), error) {
	p := pathsFrom(c)
	log, closeLog := hookLogger(p)
	spec, err := p.loadSpec()
	if err != nil {
		log.Errorf("%s: %v", c.Command.Name, err)
		closeLog()
		return gate{}, nil, err
	}
	env := withoutVar(stripProxyEnv(os.Environ()), gateLogFDEnv)
	return gate{paths: p, spec: spec, env: env, log: log}, closeLog, nil
}

// refuse ends a hook with status 1 and "git-gate: <reason>" on stderr (the
// pusher sees it as "remote: ...").
func refuse(c *cli.Context, err error) error {
	fmt.Fprintln(c.App.ErrWriter, "git-gate: "+err.Error())
	return cli.Exit("", 1)
}

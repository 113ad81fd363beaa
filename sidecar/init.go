package sidecar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// killWait bounds the wait for daemons after SIGKILL (a process stuck in
// the kernel cannot be waited for forever).
const killWait = 2 * time.Second

// runUntilSignal is `sidecar run`: it runs the bundle until SIGTERM or
// SIGINT, after which it returns nil (exit 0) once the daemons have stopped.
func (c initConfig) runUntilSignal(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if c.reap {
		if err := becomeSubreaper(); err != nil {
			return err
		}
	}
	return c.run(ctx)
}

// run prepares the bundle, starts its daemons, marks it ready once they all
// accept connections, and supervises them until ctx ends (nil) or one of
// them exits (an error naming it).
func (c initConfig) run(ctx context.Context) error {
	spec, err := c.loadSpec()
	if err != nil {
		return err
	}
	c.env, c.egressEnv = splitEnv(c.env, egressSecrets) // no other child gets them
	if c.listenHost == "" {
		if c.listenHost, err = c.net.listenHost(spec.Listen); err != nil {
			return err
		}
	}
	if c.accounts != nil {
		if c.accts, err = c.accounts(); err != nil {
			return err
		}
	}
	daemons, err := c.plan(spec)
	if err != nil {
		return err
	}
	if err := c.prepare(ctx, spec); err != nil {
		return err
	}
	defer c.cleanup(daemons)
	return c.runDaemons(ctx, daemons)
}

// prepare creates what the daemons need before they start.
func (c initConfig) prepare(ctx context.Context, spec bundle.Spec) error {
	if err := os.MkdirAll(c.RunDir, 0o755); err != nil {
		return fmt.Errorf("prepare run dir: %w", err)
	}
	if err := os.Remove(c.readyPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("prepare run dir: %w", err)
	}
	if err := os.WriteFile(c.listenPath(), []byte(c.listenHost+"\n"), 0o644); err != nil {
		return fmt.Errorf("prepare run dir: %w", err)
	}
	c.log.Infof("daemons listen on %s (%s)", c.listenHost, spec.Listen)
	if err := c.ensureCA(ctx); err != nil {
		return err
	}
	if err := c.renderPipelock(spec); err != nil {
		return err
	}
	if err := c.setupGate(ctx, spec); err != nil {
		return err
	}
	if err := c.prepareEgress(spec); err != nil {
		return err
	}
	for _, dir := range []string{c.superviseDir, c.decisionsDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("prepare supervise: %w", err)
		}
	}
	if err := c.accts.handOut(c.ownership()); err != nil {
		return err
	}
	return c.handOutSecret(spec)
}

func (c initConfig) setupGate(ctx context.Context, spec bundle.Spec) error {
	if !spec.Has(bundle.GitGate) {
		if len(spec.Upstreams) > 0 {
			c.log.Warnf("spec declares %d upstream(s) but not %s; ignoring them", len(spec.Upstreams), bundle.GitGate)
		}
		return nil
	}
	g := gate{paths: c.paths, spec: spec, env: stripProxyEnv(c.env), log: c.log}
	return g.setup(ctx)
}

// renderPipelock writes pipelock's config from the spec, for the address
// chosen at start, with the hosts supervise approved before a restart.
func (c initConfig) renderPipelock(spec bundle.Spec) error {
	var approved []string
	if c.approved != nil && spec.Has(bundle.Supervise) {
		hosts, err := c.approved()
		if err != nil {
			return fmt.Errorf("pipelock config: approved hosts: %w", err)
		}
		approved = hosts
	}
	if err := os.WriteFile(c.PipelockConfig, bundle.PipelockFor(spec, c.listenHost, approved), 0o644); err != nil {
		return fmt.Errorf("pipelock config: %w", err)
	}
	return nil
}

// ownership is who owns what in the bundle: each secret is readable by the
// one daemon that needs it; what a daemon must not change stays root's.
func (c initConfig) ownership() []owned {
	return []owned{
		{path: c.caDir(), mode: 0o755},
		{path: c.caCert(), mode: 0o644},
		{path: c.caKey(), owner: bundle.Pipelock, mode: 0o600},
		{path: c.PipelockConfig, mode: 0o644}, // rewritten by the operator's approve, as root
		{path: c.credentialDir, owner: bundle.GitGate, mode: 0o700, tree: true},
		{path: c.GitRoot, owner: bundle.GitGate, mode: 0o755, tree: true},
		{path: c.gateStateDir(), owner: bundle.GitGate, mode: 0o700, tree: true},
		{path: c.superviseDir, owner: bundle.Supervise, mode: 0o700, tree: true},
		{path: c.decisionsDir, mode: 0o755, tree: true}, // the operator's decisions: root writes, supervise reads
		{path: c.egressDir(), mode: 0o755},
		{path: c.egressCACert(), mode: 0o644}, // the guest trusts it (the launch made it)
		{path: c.egressCert(), mode: 0o644},
		{path: c.egressKey(), owner: bundle.Egress, mode: 0o600},
	}
}

// runDaemons starts the daemons and watches them; see run.
func (c initConfig) runDaemons(ctx context.Context, daemons []daemon) error {
	out := &lineWriter{w: c.out}
	var procs []*proc
	var startErr error
	for _, d := range daemons {
		p, err := c.start(d, out)
		if p != nil {
			procs = append(procs, p)
		}
		if err != nil {
			startErr = err
			break
		}
	}
	exits := watch(procs, c.reap, c.log)
	running := map[string]*proc{}
	for _, p := range procs {
		running[p.name] = p
	}
	defer drain(procs)
	if startErr != nil {
		c.stop(running, exits)
		return startErr
	}
	return c.loop(ctx, daemons, running, exits)
}

// loop waits for readiness, a signal or a daemon's death.
func (c initConfig) loop(ctx context.Context, daemons []daemon, running map[string]*proc, exits <-chan exit) error {
	readyCtx, cancelReady := context.WithCancel(ctx)
	defer cancelReady()
	ready := make(chan error, 1)
	go func() { ready <- awaitPorts(readyCtx, c.listenHost, daemons, c.readyTimeout) }()
	for {
		select {
		case <-ctx.Done():
			c.log.Info("stopping daemons")
			c.stop(running, exits)
			return nil
		case e := <-exits:
			delete(running, e.daemon)
			c.log.Errorf("%s exited: %s; stopping the bundle", e.daemon, e.status)
			c.stop(running, exits)
			return fmt.Errorf("daemon %s exited: %s", e.daemon, e.status)
		case err := <-ready:
			ready = nil
			if err == nil {
				err = c.markReady()
			}
			if err != nil && ctx.Err() == nil {
				c.stop(running, exits)
				return fmt.Errorf("bundle readiness: %w", err)
			}
		}
	}
}

func (c initConfig) markReady() error {
	if err := os.WriteFile(c.readyPath(), nil, 0o644); err != nil {
		return fmt.Errorf("mark ready: %w", err)
	}
	c.log.Info("bundle ready: every daemon accepts connections")
	return nil
}

// stop sends SIGTERM to the running daemons, SIGKILL to those still running
// after the grace period, and returns once all have exited (or killWait
// after the SIGKILL).
func (c initConfig) stop(running map[string]*proc, exits <-chan exit) {
	os.Remove(c.readyPath())
	c.signalAll(running, syscall.SIGTERM)
	grace := time.NewTimer(c.grace)
	defer grace.Stop()
	var giveUp <-chan time.Time
	for len(running) > 0 {
		select {
		case e := <-exits:
			delete(running, e.daemon)
			c.log.Infof("%s stopped: %s", e.daemon, e.status)
		case <-grace.C:
			c.log.Warnf("daemons still running after %s; killing them", c.grace)
			c.signalAll(running, syscall.SIGKILL)
			giveUp = time.After(killWait)
		case <-giveUp:
			c.log.Errorf("%d daemon(s) did not exit after SIGKILL", len(running))
			return
		}
	}
}

func (c initConfig) signalAll(running map[string]*proc, sig syscall.Signal) {
	for _, p := range running {
		if err := p.signalGroup(sig); err != nil {
			c.log.Warnf("%s: %v", p.name, err)
		}
	}
}

// drain gives the daemons' output a moment to reach the log.
func drain(procs []*proc) {
	deadline := time.After(time.Second)
	for _, p := range procs {
		select {
		case <-p.drained:
		case <-deadline:
			return
		}
	}
}

// cleanup removes the ready marker and PID files.
func (c initConfig) cleanup(daemons []daemon) {
	os.Remove(c.readyPath())
	for _, d := range daemons {
		os.Remove(c.pidPath(d.name))
	}
}

package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Launcher runs a Plan through the runner.
type Launcher struct {
	R   shell.Runner
	Log logrus.FieldLogger
	// Out is program output: the bottle's name after --detach.
	Out io.Writer
	// TTY is true when claude-bottle's stdin is a terminal (exec -t).
	TTY bool
	// Now is the clock for step timings.
	Now func() time.Time
	// CacheDir holds agent image archives for smolvm ("" passes the image
	// reference to smolvm as it is).
	CacheDir string
	// FS is the host file system, for that cache.
	FS HostFS
	// TeardownTimeout bounds the teardown after a failure or interrupt.
	TeardownTimeout time.Duration
	// Locks make a launch and a stop of one name take turns.
	Locks Locks
	// Abort, closed on a second signal, stops the teardown's waiting.
	Abort <-chan struct{}
	// Serial runs the steps that do not depend on each other one after
	// the other, in a fixed order, instead of at once (together): the
	// stand-ins' transcripts and the fault tables need one order. A
	// dry-run is always serial.
	Serial bool
	// CAs makes the bottle's CAs (nil: bundle.NewCAs).
	CAs func(now time.Time, egress bool) (bundle.CAs, error)
	// Steps shows each step as it runs (nil: nothing).
	Steps Steps
	// Getenv reads claude-bottle's environment: on kubernetes, the values
	// of variables passed by name go into the bottle's Secrets.
	Getenv func(string) (string, bool)
}

// getenv is Getenv, or nothing set.
func (l *Launcher) getenv(name string) (string, bool) {
	if l.Getenv == nil {
		return "", false
	}
	return l.Getenv(name)
}

// Steps is what shows a person the launch's steps (package progress).
type Steps interface {
	// Start shows step name running; the func it returns shows it done
	// (err nil) or failed, after took.
	Start(name string) (done func(took time.Duration, err error))
}

// StepError is a launch step that failed: Step names it, Err carries the
// command error (quoted command line, exit status, stderr).
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// AgentExit is the agent's non-zero exit status in an attached launch.
type AgentExit struct{ Code int }

func (e *AgentExit) Error() string { return fmt.Sprintf("the agent exited with status %d", e.Code) }

// backend is what differs between docker, smolmachines and kubernetes.
type backend interface {
	// start creates and starts the bundle and the agent's guest and
	// provisions the guest, overlapping what does not wait for the other
	// (together). The bundle may still be starting when it returns.
	start(ctx context.Context, s *session) (provision.Guest, error)
	// guestEnv is the guest environment's network part (proxy, gate, supervise).
	guestEnv(p *Plan) []EnvVar
	// waitBundle blocks until every daemon of the bundle accepts connections.
	waitBundle(ctx context.Context, s *session) error
}

// session is one launch in progress.
type session struct {
	*Launcher
	p  *Plan
	td *teardown
	ca []byte
	// mu guards timing: steps run at once (together).
	mu     sync.Mutex
	timing []string
	// record is the host repository and base commit, recorded on the
	// agent (recordRepo).
	record job.Record
	// agentRan is set once the agent started: its guest may hold work.
	agentRan bool
}

// step runs fn as a named launch step, timing it and wrapping its error.
func (s *session) step(name string, fn func() error) error {
	done := func(time.Duration, error) {}
	if s.Steps != nil {
		done = s.Steps.Start(name)
	}
	start := s.Now()
	err := fn()
	d := s.Now().Sub(start).Round(time.Millisecond)
	done(d, err)
	s.Log.Debugf("step %s: %s", name, d)
	s.mu.Lock()
	s.timing = append(s.timing, fmt.Sprintf("%s %s", name, d))
	s.mu.Unlock()
	if err != nil {
		return &StepError{Step: name, Err: err}
	}
	return nil
}

// create runs cmd, which creates res, as a step. res is registered for
// removal before cmd runs (a failed create can still leave it behind), and
// removed by the ID cmd prints (docker run prints it also when the start
// fails). When the name is taken, the resource is not this launch's and
// stays out of the teardown.
func (s *session) create(ctx context.Context, step, what string, res resource, cmd shell.Cmd) error {
	res.bottle = s.p.Bottle
	res.name = derivedName(res.kind, res.role, s.p.Bottle)
	if res.kind == kindNamespace {
		res.name = res.cluster.Namespace(s.p.Bottle)
	}
	if res.kind == kindMachine || res.kind == kindNamespace || s.p.DryRun {
		res.id = res.name // smolvm's and namespace names are unique; a dry-run prints no ID
	}
	u := s.td.push(what, res)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := s.step(step, func() error { return s.R.Run(ctx, cmd) })
	if id := strings.TrimSpace(out.String()); res.kind != kindMachine && res.kind != kindNamespace && dockerID.MatchString(id) {
		u.res.id = id
	}
	if isConflict(err) {
		s.td.forget(u)
		return fmt.Errorf("%w (is a bottle named %s already running? see claude-bottle ls)", err, s.p.Bottle)
	}
	return err
}

// claim takes the bottle's lock (until Launch returns) and refuses a name
// that is taken: a launch never shares a name with anything that carries
// its labels, so that its teardown and a stop can tell its resources by
// name and labels.
func (s *session) claim(ctx context.Context) (unlock func(), err error) {
	var locks Locks = NoLocks{} // a dry-run creates nothing
	if !s.p.DryRun && s.Locks != nil {
		locks = s.Locks
	}
	if unlock, err = locks.Lock(ctx, s.p.Bottle, "launch", false); err != nil {
		return nil, err
	}
	err = s.step("check name", func() error {
		found, err := bottleResources(ctx, s.R, s.p.Bottle, s.p.where())
		if err != nil {
			return err
		}
		if len(found) > 0 {
			return &NameTakenError{Bottle: s.p.Bottle, Found: found[0].kind + " " + found[0].name,
				StopCommand: StopCommand(s.p.Bottle, job.Where{Backend: found[0].backend, Cluster: s.p.Cluster})}
		}
		return nil
	})
	if err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// NameTakenError is a launch under the name of a bottle that exists.
type NameTakenError struct{ Bottle, Found, StopCommand string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("bottle %s exists (%s): pick another --name, or remove it with %s", e.Bottle, e.Found, e.StopCommand)
}

// Launch runs the plan: bundle, ports, guest, provisioning, then the agent
// (attached) or the bottle's name (detached). Whatever fails, everything the
// launch created is removed, newest first; so it is after an attached agent
// exits, and when ctx is cancelled (SIGINT/SIGTERM).
func (l *Launcher) Launch(ctx context.Context, p *Plan) (err error) {
	s := &session{Launcher: l, p: p, td: &teardown{r: l.R, serial: l.serial(p)}}
	start := l.Now()
	unlock, err := s.claim(ctx)
	if err != nil {
		return err
	}
	defer unlock() // after the teardown: deferred first
	defer func() {
		if err == nil && p.Detach {
			return
		}
		if kerr := s.keepWork(ctx); kerr != nil {
			err = errors.Join(err, kerr) // never lost: the bottle stays
			return
		}
		if terr := s.cleanup(ctx); terr != nil {
			err = errors.Join(err, terr)
		}
	}()
	b, err := l.backendFor(ctx, p)
	if err != nil {
		return err
	}
	guest, err := s.setUp(ctx, b)
	if err != nil {
		return err
	}
	l.Log.Infof("bottle %s ready in %s (%s)", p.Bottle, l.Now().Sub(start).Round(time.Millisecond), strings.Join(s.timing, ", "))
	if p.Detach {
		if err := s.startAgent(ctx, guest); err != nil {
			return err
		}
		if p.DryRun {
			fmt.Fprintf(l.Out, "# bottle %s stays running (--detach)\n", p.Bottle)
		} else {
			fmt.Fprintln(l.Out, p.Bottle)
		}
		return nil
	}
	return s.attach(ctx, guest)
}

// setUp brings the bottle up to the point where the agent can run: what
// only the host does first (the working tree's changes, the repository's
// HEAD, the bottle's CAs), then the bundle and the guest, provisioned while
// the bundle starts (backend.start); last, the bundle's readiness.
func (s *session) setUp(ctx context.Context, b backend) (provision.Guest, error) {
	s.logEgress()
	if r := s.p.Guest.Repo; r != nil && r.Worktree != nil {
		// First: a working tree over its caps fails before anything exists.
		if err := s.step("list changes", func() error { return r.Worktree.List(ctx, s.R) }); err != nil {
			return nil, err
		}
	}
	if err := s.recordRepo(ctx); err != nil {
		return nil, err
	}
	if err := s.makeCAs(); err != nil {
		return nil, err
	}
	guest, err := b.start(ctx, s)
	if err != nil {
		return guest, err
	}
	// Every daemon must serve before the agent runs, and still serve now
	// that the guest depends on it: a bundle that died meanwhile fails the
	// launch instead of leaving a bottle with no way out.
	err = s.step("wait for bundle", func() error { return b.waitBundle(ctx, s) })
	return guest, err
}

// provision places everything in the guest (provision.Run).
func (s *session) provision(ctx context.Context, g provision.Guest) error {
	return s.step("provision", func() error {
		return provision.Run(ctx, g, s.Log, s.p.Guest, s.live(), s.together)
	})
}

func (s *session) attach(ctx context.Context, g provision.Guest) error {
	s.agentRan = true // from here on the guest may hold work
	argv := provision.AgentCommand(s.p.AgentArgs, s.p.Guest.Prompt != "")
	err := g.Attach(ctx, argv, s.TTY)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code := shell.ExitCode(err); code > 0 {
		return &AgentExit{Code: code}
	}
	if err != nil {
		return &StepError{Step: "run agent", Err: err}
	}
	return nil
}

// cleanup tears down with a context of its own: the launch's may be
// cancelled (the first signal). A second signal (Abort) or the timeout
// ends the waiting; what is left is reported with the command that
// removes it.
func (s *session) cleanup(ctx context.Context) error {
	timeout := s.TeardownTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	tctx, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	tctx, cancel := context.WithTimeoutCause(tctx, timeout, fmt.Errorf("still running after %s", timeout))
	defer cancel()
	go func() {
		select {
		case <-s.Abort:
			abort(errors.New("a second signal: stopped waiting"))
		case <-tctx.Done():
		}
	}()
	left, err := s.td.run(tctx)
	if err != nil {
		e := &TeardownError{StopCommand: s.p.stopCommand(), Err: err}
		for _, u := range left {
			e.Left = append(e.Left, u.describe())
		}
		return e
	}
	return nil
}

// bundleExec is `docker exec <bundle> claude-bottle sidecar …`.
func (s *session) bundleExec(args ...string) []string {
	return append([]string{"docker", "exec", s.p.Bundle.Container, bundle.Binary, "sidecar"}, args...)
}

// waitSidecar is docker's and smolmachines' waitBundle: the bundle's own
// `sidecar wait`, through docker exec.
func (s *session) waitSidecar(ctx context.Context) error {
	timeout := fmt.Sprintf("%ds", int(BundleReadyTimeout.Seconds()))
	return shell.Run(ctx, s.R, s.bundleExec("wait", "--timeout", timeout)...)
}

// BundleReadyTimeout bounds how long the launch waits for the bundle's daemons.
const BundleReadyTimeout = 60 * time.Second

// makeCAs makes the bottle's CAs (bundle.CAs) before anything runs: their
// files join the bundle's, and the guest is given their certificates while
// the bundle is still starting. Each fingerprint is logged.
func (s *session) makeCAs() error {
	mint := s.CAs
	if mint == nil {
		mint = bundle.NewCAs
	}
	cas, err := mint(s.Now(), s.p.Egress != nil)
	if err != nil {
		return fmt.Errorf("make the bottle's CAs: %w", err)
	}
	s.p.Bundle.Files = append(s.p.Bundle.Files, caFiles(cas)...)
	s.ca = cas.Trusted()
	for _, ca := range []struct {
		kind string
		cert []byte
	}{{provision.CAPipelock, cas.PipelockCert}, {provision.CAEgress, cas.EgressCA}} {
		if ca.cert == nil {
			continue
		}
		if s.p.DryRun {
			s.Log.Infof("CA (%s): a fresh one per launch, its fingerprint logged then", ca.kind)
			continue
		}
		fp, err := provision.Fingerprint(ca.cert)
		if err != nil {
			return fmt.Errorf("the %s CA: %w", ca.kind, err)
		}
		s.Log.Infof("CA (%s) SHA-256 fingerprint: %s", ca.kind, fp)
	}
	return nil
}

// caFiles place the CAs where the bundle's init looks for them (it keeps
// what it finds): the keys root 0600, handed by the init to pipelock and
// egress alone; never shown.
func caFiles(c bundle.CAs) []provision.File {
	files := []provision.File{
		{Path: bundle.PipelockCADir, Mode: 0o755, Dir: true},
		{Path: bundle.PipelockCACert, Mode: 0o644, Content: c.PipelockCert},
		{Path: bundle.PipelockCAKey, Mode: 0o600, Content: c.PipelockKey},
	}
	if c.EgressCA == nil {
		return files
	}
	return append(files,
		provision.File{Path: bundle.EgressDir, Mode: 0o755, Dir: true},
		provision.File{Path: bundle.EgressCACert, Mode: 0o644, Content: c.EgressCA},
		provision.File{Path: bundle.EgressCertPath, Mode: 0o644, Content: c.EgressCert},
		provision.File{Path: bundle.EgressKeyPath, Mode: 0o600, Content: c.EgressKey})
}

// caKind names the file of CAs the guest trusts: egress's when egress runs
// (it holds egress's CA and pipelock's), else pipelock's.
func (s *session) caKind() string {
	return provision.CAKind(s.p.Bundle.Spec.Has(bundle.Egress))
}

// live gathers what provisioning needs that exists only now.
func (s *session) live() provision.Live {
	return provision.Live{CA: s.ca, CAKind: s.caKind(), GateHost: s.p.AgentGitGateHost,
		Upstreams: s.p.Upstreams, SuperviseURL: s.p.AgentSuperviseURL, Secret: s.p.Secret}
}

// guestEnv is the whole guest environment: network part, CA, user --env and
// secrets by name.
func (s *session) guestEnv(b backend) []EnvVar {
	env := b.guestEnv(s.p)
	env = append(env, EnvVar{Name: "NODE_EXTRA_CA_CERTS", Value: provision.CAPath(s.caKind())})
	for _, d := range GuestDefaults {
		if !hasEnv(s.p.Env, d.Name) { // the user's --env wins
			env = append(env, d)
		}
	}
	return append(env, s.p.Env...)
}

// GuestDefaults are guest variables a user may override with --env.
// Claude Code's documented switch turns off telemetry, error reporting,
// auto-updates, release notes and feature flags: traffic the bottle does
// not need, to hosts it does not allow (README, security).
var GuestDefaults = []EnvVar{{Name: "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", Value: "1"}}

func hasEnv(env []EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// proxyEnv are the proxy variables for a proxy URL and NO_PROXY list, in
// both spellings (curl reads only the lower-case http_proxy).
func proxyEnv(proxy string, noProxy []string) []EnvVar {
	np := strings.Join(noProxy, ",")
	return []EnvVar{
		{Name: "HTTPS_PROXY", Value: proxy}, {Name: "HTTP_PROXY", Value: proxy},
		{Name: "https_proxy", Value: proxy}, {Name: "http_proxy", Value: proxy},
		{Name: "NO_PROXY", Value: np}, {Name: "no_proxy", Value: np},
	}
}

// backendFor picks the backend and, for smolvm, resolves --smolvm-net auto:
// smolvm releases whose `machine create` has --net-backend switch any egress
// allowlist to virtio-net, where the guest's 127.0.0.1 is its own; older
// ones keep TSI, where it is the host's. A dry-run does not probe: it shows
// the tsi plan and says so.
func (l *Launcher) backendFor(ctx context.Context, p *Plan) (backend, error) {
	switch p.Backend {
	case Docker:
		return dockerBackend{}, nil
	case Kubernetes:
		return kubeBackend{}, nil
	}
	b := smolBackend{net: p.Net}
	if p.Net != NetAuto {
		return b, nil
	}
	if p.DryRun {
		b.net = NetTSI
		b.autoNote = "--smolvm-net auto: a dry-run shows the tsi plan; a real run probes smolvm (machine create --help)"
		l.Log.Info(b.autoNote)
		return b, nil
	}
	out, err := shell.Output(ctx, l.R, "smolvm", "machine", "create", "--help")
	if err != nil {
		return nil, &StepError{Step: "probe smolvm", Err: err}
	}
	b.net = ProbeNet(out)
	l.Log.Infof("--smolvm-net auto: using %s", b.net)
	return b, nil
}

// ProbeNet chooses the network mode from `smolvm machine create --help`.
func ProbeNet(help string) string {
	if strings.Contains(help, "--net-backend") {
		return NetVirtio
	}
	return NetTSI
}

package sidecar

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// daemon is one long-running child of the init.
type daemon struct {
	name string
	argv []string
	port int // ready once it accepts on port
	// host is where it listens when that is not the bundle's listen
	// address (egress: the bundle's loopback only); "" for that address.
	host string
}

// addr is where the init checks that d accepts, listenHost being the
// bundle's listen address.
func (d daemon) addr(listenHost string) string {
	if d.host != "" {
		listenHost = d.host
	}
	return hostPort(listenHost, d.port)
}

// superviseArgv is how the init runs the supervise MCP server (package
// supervise registers it under `claude-bottle sidecar`).
func superviseArgv(binary, listen string) []string {
	return []string{binary, "sidecar", "supervise", "serve", "--listen", listen}
}

// proc is a started daemon.
type proc struct {
	daemon
	cmd *exec.Cmd
	// drained is closed once the daemon's output pipe hits EOF.
	drained chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// signalGroup signals the daemon's whole process group (it was started as
// its leader), so git-gate's connection children stop with it.
func (p *proc) signalGroup(sig syscall.Signal) error {
	if p.pid() <= 1 {
		return fmt.Errorf("signal %s: refusing pid %d", p.name, p.pid()) // kill(-1) would hit everything
	}
	err := syscall.Kill(-p.pid(), sig)
	if err == syscall.ESRCH {
		return nil // already gone
	}
	return err
}

// start runs a daemon with its stdout and stderr prefixed into out, and
// records its PID.
func (c initConfig) start(d daemon, out *lineWriter) (*proc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", d.name, err)
	}
	cmd := exec.Command(d.argv[0], d.argv[1:]...)
	cmd.Env = stripProxyEnv(c.env)
	if d.name == bundle.Egress {
		cmd.Env = append(cmd.Env, c.egressEnv...) // the credential and the bottle token: egress's alone
	}
	cmd.Stdout, cmd.Stderr = w, w // one pipe keeps stdout and stderr in order
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if a := c.accts[d.name]; a != nil {
		cmd.SysProcAttr.Credential = a.credential() // its own user, no capabilities
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start %s: %w", d.name, err)
	}
	p := &proc{daemon: d, cmd: cmd, drained: make(chan struct{})}
	go func() {
		defer close(p.drained)
		defer r.Close()
		out.copyLines("["+d.name+"] ", r)
	}()
	pid := strconv.Itoa(p.pid()) + "\n"
	if err := os.WriteFile(c.pidPath(d.name), []byte(pid), 0o644); err != nil {
		return p, fmt.Errorf("start %s: record pid: %w", d.name, err)
	}
	c.log.Infof("started %s (pid %d, user %s): %s", d.name, p.pid(), c.userOf(d.name), strings.Join(d.argv, " "))
	return p, nil
}

func (c initConfig) userOf(daemon string) string {
	if a := c.accts[daemon]; a != nil {
		return a.name
	}
	return "the init's"
}

// lineWriter serialises whole lines from several daemons onto one writer.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// copyLines copies r to the writer line by line, each line prefixed.
func (lw *lineWriter) copyLines(prefix string, r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			lw.mu.Lock()
			io.WriteString(lw.w, prefix+line)
			lw.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// stripProxyEnv returns env without proxy variables, in any case: the
// bundle's children (git-gate, pipelock) reach the internet directly, never
// through pipelock.
func stripProxyEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
		default:
			out = append(out, kv)
		}
	}
	return out
}

// awaitPorts returns once every daemon accepts TCP connections on host,
// or an error naming those that did not within timeout.
func awaitPorts(ctx context.Context, host string, daemons []daemon, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	pending := daemons
	for {
		pending = notAccepting(host, pending)
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %s", timeout, describePorts(host, pending))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func notAccepting(host string, daemons []daemon) []daemon {
	var out []daemon
	for _, d := range daemons {
		conn, err := net.DialTimeout("tcp", d.addr(host), time.Second)
		if err != nil {
			out = append(out, d)
			continue
		}
		conn.Close()
	}
	return out
}

// hostPort is where the init reaches a daemon listening on host.
func hostPort(host string, port int) string {
	return net.JoinHostPort(dialHost(host), strconv.Itoa(port))
}

func describePorts(host string, daemons []daemon) string {
	parts := make([]string, len(daemons))
	for i, d := range daemons {
		parts[i] = fmt.Sprintf("%s does not accept connections on %s", d.name, d.addr(host))
	}
	return strings.Join(parts, "; ")
}

// plan turns the spec into the daemons to run, in a fixed order whatever
// the spec's.
func (c initConfig) plan(spec bundle.Spec) ([]daemon, error) {
	daemonOrder := []string{bundle.Pipelock, bundle.GitGate, bundle.Supervise, bundle.Egress}
	for _, name := range spec.Daemons {
		if !slices.Contains(daemonOrder, name) {
			return nil, fmt.Errorf("plan daemons: %q is not a daemon this sidecar runs", name)
		}
	}
	var out []daemon
	for _, name := range daemonOrder {
		if !spec.Has(name) {
			continue
		}
		d := daemon{name: name, argv: c.argv(name), port: c.ports[name]}
		if name == bundle.Egress {
			if spec.Egress == nil {
				return nil, fmt.Errorf("plan daemons: %s needs the spec's egress section", name)
			}
			d.host = egressListenHost
		}
		out = append(out, d)
	}
	return out, nil
}

func (c initConfig) argv(name string) []string {
	switch name {
	case bundle.Pipelock:
		return []string{c.pipelock, "run", "--config", c.PipelockConfig}
	case bundle.GitGate:
		return gitGateArgv(c.paths, c.listenHost, c.ports[bundle.GitGate])
	case bundle.Egress:
		return egressArgv(c.paths, c.ports[bundle.Egress])
	default:
		return superviseArgv(c.Binary, net.JoinHostPort(c.listenHost, strconv.Itoa(c.ports[bundle.Supervise])))
	}
}

package launch

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// smolBackend runs the agent in a smolvm microVM. The bundle publishes its
// agent-facing ports on host loopback only; the guest reaches them there
// (tsi) or through the virtio-net gateway that dials host loopback.
type smolBackend struct {
	net string // NetTSI or NetVirtio (auto is resolved before)
	// autoNote explains a dry-run's choice for --smolvm-net auto.
	autoNote string
}

// gatewayIP is the virtio-net gateway, which dials host loopback.
const gatewayIP = "100.96.0.1"

// guestHost is where the guest reaches the host's loopback.
func (b smolBackend) guestHost() string {
	if b.net == NetVirtio {
		return gatewayIP
	}
	return "127.0.0.1"
}

// allowArgs are the egress allowlist flags: each CIDR its own flag.
//
// Both end with --allow-host localhost: any --allow-host turns smolvm's DNS
// filter on (only allowed names resolve, others get NXDOMAIN); with CIDRs
// alone the gateway forwards every guest query upstream, a way out
// (smolvm-cli.md §2.2). localhost opens nothing: it resolves on the host at
// create (smolvm requires that), and its answers (127.0.0.1, ::1) are the
// guest's own loopback under virtio-net, already reachable; the 127.0.0.1/32
// entry is there for the gateway's dial, not for this name.
func (b smolBackend) allowArgs() []string {
	dnsFilter := []string{"--allow-host", "localhost"} // DNS filter on: no name the guest picks leaves
	if b.net == NetVirtio {
		return append([]string{
			"--allow-cidr", gatewayIP + "/32", // the gateway that dials host loopback
			"--allow-cidr", "127.0.0.1/32", // reopens host loopback on smolvm with the loopback floor
		}, dnsFilter...)
	}
	return append([]string{"--net", "--allow-cidr", "127.0.0.1/32"}, dnsFilter...)
}

// start creates and starts the bundle while the agent image is resolved
// (saved, the first time); the machine needs the ports docker picked at
// the bundle's start, and is provisioned while the bundle's daemons start.
func (b smolBackend) start(ctx context.Context, s *session) (provision.Guest, error) {
	var image string
	err := s.together(ctx, func(ctx context.Context) error {
		if err := createBundle(ctx, s, smolBundleArgs(s.p)); err != nil {
			return err
		}
		if err := startBundle(ctx, s); err != nil {
			return err
		}
		return s.step("discover ports", func() error { return b.discover(ctx, s) })
	}, func(ctx context.Context) (err error) {
		image, err = b.agentImage(ctx, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	guest, err := b.startGuest(ctx, s, image)
	if err != nil {
		return guest, err
	}
	return guest, s.provision(ctx, guest)
}

// smolBundleArgs publishes each agent-facing port on host loopback only, on
// a port docker picks.
func smolBundleArgs(p *Plan) []string {
	a := []string{"docker", "create", "--name", p.Bundle.Container}
	a = append(a, p.labelArgs(RoleBundle)...)
	a = append(a, bundleHardening()...)
	a = append(a, p.BundleLimits.dockerArgs()...)
	for _, port := range p.Bundle.PortsToPublish {
		a = append(a, "-p", "127.0.0.1::"+strconv.Itoa(port))
	}
	a = append(a, p.Egress.bundleArgs()...)
	return append(a, p.BundleImage)
}

func (b smolBackend) discover(ctx context.Context, s *session) error {
	p := s.p
	for _, port := range p.Bundle.PortsToPublish {
		out, err := shell.Output(ctx, s.R, "docker", "port", p.Bundle.Container, strconv.Itoa(port)+"/tcp")
		if err != nil {
			return err
		}
		host, err := ParsePortBinding(out)
		if err != nil {
			return fmt.Errorf("bundle port %d: %w", port, err)
		}
		addr := b.guestHost() + ":" + strconv.Itoa(host)
		switch port {
		case bundle.PipelockPort:
			p.AgentProxyURL = "http://" + addr
		case bundle.GitGatePort:
			p.AgentGitGateHost = "git://" + addr
		case bundle.SupervisePort:
			p.AgentSuperviseURL = "http://" + addr + "/"
		}
	}
	return nil
}

func (smolBackend) waitBundle(ctx context.Context, s *session) error { return s.waitSidecar(ctx) }

func (b smolBackend) guestEnv(p *Plan) []EnvVar {
	noProxy := []string{"localhost", "127.0.0.1"}
	if b.net == NetVirtio {
		noProxy = append(noProxy, gatewayIP) // supervise and the gate are there
	}
	return proxyEnv(p.AgentProxyURL, noProxy) // the gate and supervise: see dockerBackend.guestEnv
}

func (b smolBackend) startGuest(ctx context.Context, s *session, image string) (provision.Guest, error) {
	name := bundle.AgentName(s.p.Bottle)
	// The guest's token is a reference to the host variable
	// bundle.EgressTokenEnv, which smolvm resolves at each start: it is set
	// in these two commands' environments only. A later start by hand
	// resolves nothing (never the user's credential).
	tokenEnv := s.p.Egress.cmdEnv(bundle.EgressTokenEnv)
	if err := s.create(ctx, "create machine", "machine "+name, resource{kind: kindMachine, role: RoleAgent},
		shell.Cmd{Argv: b.createArgs(s, image), Note: append(b.createNote(), tokenNote(s.guestEnv(b))...), Env: tokenEnv}); err != nil {
		return nil, err
	}
	err := s.step("start machine", func() error {
		return s.R.Run(ctx, shell.Cmd{Argv: []string{"smolvm", "machine", "start", "-n", name}, Env: tokenEnv})
	})
	return provision.SmolvmGuest(s.R, name), err
}

func (b smolBackend) createNote() []string {
	if b.autoNote == "" {
		return nil
	}
	return []string{b.autoNote}
}

// createArgs creates the machine: labels, image, egress allowlist, guest env
// (secrets by reference only: smolvm persists plain -e values).
func (b smolBackend) createArgs(s *session, image string) []string {
	p := s.p
	a := []string{"smolvm", "machine", "create", "--name", bundle.AgentName(p.Bottle)}
	a = append(a, p.labelArgs(RoleAgent)...)
	a = append(a, s.record.LabelArgs()...) // the host repository and base commit, for fetch
	a = append(a, "--image", image)
	a = append(a, p.AgentLimits.smolvmArgs()...)
	a = append(a, b.allowArgs()...)
	for _, e := range s.guestEnv(b) {
		if e.Token {
			a = append(a, "--secret-env", e.Name+"="+bundle.EgressTokenEnv) // the bottle token, never the host's credential
		} else if e.ByName {
			a = append(a, "--secret-env", e.Name+"="+e.Name) // a reference; the value stays on the host
		} else {
			a = append(a, "-e", e.Name+"="+e.Value)
		}
	}
	return append(a, "--", "sleep", "infinity")
}

// isLocalImage follows smolvm's rule for local image sources.
func isLocalImage(img string) bool {
	for _, p := range []string{"/", "./", "../"} {
		if strings.HasPrefix(img, p) {
			return true
		}
	}
	for _, sfx := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(img, sfx) {
			return true
		}
	}
	return img == "-"
}

package launch

import (
	"context"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// dockerBackend runs the agent in a container on an internal network whose
// only other member is the bundle. Nothing is published.
type dockerBackend struct{}

// outNetwork is the network that gives the bundle (and only the bundle) a
// route out.
const outNetwork = "bridge"

// start creates the network, then the bundle and the agent's container at
// once: nothing of the agent's waits for the bundle (its names, the CAs and
// the secret are known), so the guest is provisioned while the bundle
// starts.
func (b dockerBackend) start(ctx context.Context, s *session) (provision.Guest, error) {
	p := s.p
	if err := s.create(ctx, "create network", "network "+bundle.NetworkName(p.Bottle),
		resource{kind: kindNetwork, role: RoleNetwork}, shell.Cmd{Argv: networkCreateArgs(p)}); err != nil {
		return nil, err
	}
	b.discover(p)
	guest := provision.DockerGuest(s.R, bundle.AgentName(p.Bottle))
	err := s.together(ctx, func(ctx context.Context) error { return b.startBundle(ctx, s) },
		func(ctx context.Context) error {
			if err := b.startGuest(ctx, s); err != nil {
				return err
			}
			return s.provision(ctx, guest)
		})
	return guest, err
}

func (dockerBackend) startBundle(ctx context.Context, s *session) error {
	if err := createBundle(ctx, s, dockerBundleArgs(s.p)); err != nil {
		return err
	}
	if err := s.step("connect bundle", func() error {
		return shell.Run(ctx, s.R, "docker", "network", "connect", outNetwork, s.p.Bundle.Container)
	}); err != nil {
		return err
	}
	return startBundle(ctx, s)
}

// networkCreateArgs: an internal network with no address of the host on it,
// so the agent reaches neither the outside nor the host's services.
func networkCreateArgs(p *Plan) []string {
	a := []string{"docker", "network", "create",
		"--internal",                                           // no route out of the network
		"--opt", "com.docker.network.bridge.inhibit_ipv4=true", // no host IP (gateway) on the bridge
	}
	a = append(a, p.labelArgs(RoleNetwork)...)
	return append(a, bundle.NetworkName(p.Bottle))
}

// dockerBundleArgs creates the bundle on the bottle's network, reachable
// by the names the agent's env uses.
func dockerBundleArgs(p *Plan) []string {
	a := []string{"docker", "create", "--name", p.Bundle.Container}
	a = append(a, p.labelArgs(RoleBundle)...)
	a = append(a, bundleHardening()...)
	a = append(a, p.BundleLimits.dockerArgs()...)
	a = append(a, "--network", bundle.NetworkName(p.Bottle))
	for _, d := range p.Bundle.Spec.Daemons {
		if d != bundle.Egress { // egress has no address on the network: the bundle's loopback only
			a = append(a, "--network-alias", d) // pipelock, git-gate, supervise
		}
	}
	a = append(a, p.Egress.bundleArgs()...)
	return append(a, p.BundleImage)
}

// discover: the agent reaches the bundle by its aliases on the network.
func (dockerBackend) discover(p *Plan) {
	p.AgentProxyURL = "http://pipelock:8888"
	if len(p.Upstreams) > 0 {
		p.AgentGitGateHost = "git://git-gate"
	}
	if p.Guest.Supervise {
		p.AgentSuperviseURL = "http://supervise:9100/"
	}
}

func (dockerBackend) waitBundle(ctx context.Context, s *session) error { return s.waitSidecar(ctx) }

// guestEnv: the proxy only. The gate and supervise are reached through the
// guest's files (the gitconfig, the MCP registration), whose URLs carry the
// bottle's secret; an environment variable would put it in an argv.
func (dockerBackend) guestEnv(p *Plan) []EnvVar {
	return proxyEnv(p.AgentProxyURL, []string{"localhost", "127.0.0.1", "git-gate", "supervise"})
}

func (b dockerBackend) startGuest(ctx context.Context, s *session) error {
	env := s.guestEnv(b)
	return s.create(ctx, "start agent", "agent container "+bundle.AgentName(s.p.Bottle), resource{kind: kindContainer, role: RoleAgent},
		shell.Cmd{Argv: dockerAgentArgs(s, b), Env: s.p.Egress.dockerTokenEnv(env), Note: append([]string{alongside}, tokenNote(env)...)})
}

// dockerAgentArgs runs the agent container on the internal network only.
func dockerAgentArgs(s *session, b backend) []string {
	p := s.p
	a := []string{"docker", "run", "--detach", "--name", bundle.AgentName(p.Bottle)}
	a = append(a, p.labelArgs(RoleAgent)...)
	a = append(a, s.record.LabelArgs()...) // the host repository and base commit, for fetch
	a = append(a, agentHardening()...)
	a = append(a, p.AgentLimits.dockerArgs()...)
	a = append(a, "--network", bundle.NetworkName(p.Bottle)) // internal: the bundle is the only way out
	for _, e := range s.guestEnv(b) {
		if e.ByName {
			a = append(a, "-e", e.Name) // value from claude-bottle's environment (the token: the command's), never in argv
		} else {
			a = append(a, "-e", e.Name+"="+e.Value)
		}
	}
	return append(a, p.AgentImage, "sleep", "infinity")
}

// createBundle creates the bundle container and places its files (spec,
// pipelock config, credentials) before any daemon starts.
func createBundle(ctx context.Context, s *session, createArgs []string) error {
	p := s.p
	if err := s.create(ctx, "create bundle", "bundle "+p.Bundle.Container, resource{kind: kindContainer, role: RoleBundle},
		shell.Cmd{Argv: createArgs, Env: p.Egress.cmdEnv(bundle.EgressTokenEnv), Note: p.Egress.bundleNote()}); err != nil {
		return err
	}
	return s.step("place bundle files", func() error {
		return s.R.Run(ctx, shell.Cmd{
			Argv:  []string{"docker", "cp", "-", p.Bundle.Container + ":/"},
			Stdin: provision.Archive(p.Bundle.Files), Note: append(provision.Notes(p.Bundle.Files), pipelockNote(p)...),
		})
	})
}

func startBundle(ctx context.Context, s *session) error {
	return s.step("start bundle", func() error {
		return shell.Run(ctx, s.R, "docker", "start", s.p.Bundle.Container)
	})
}

// pipelockNote shows, in the dry-run, the pipelock config the bundle's init
// renders at start from the spec (it alone knows the address to listen on).
func pipelockNote(p *Plan) []string {
	host := "<the bundle's address on the bottle network>"
	if p.Bundle.Spec.Listen == bundle.ListenAll {
		host = "0.0.0.0"
	}
	cfg := bundle.PipelockFor(p.Bundle.Spec, host, nil)
	out := []string{"root 0644 " + bundle.PipelockConfigPath + " (rendered by the bundle at start)"}
	for _, l := range strings.Split(strings.TrimRight(string(cfg), "\n"), "\n") {
		out = append(out, "    "+l)
	}
	return out
}

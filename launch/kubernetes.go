package launch

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// kubeBackend runs a bottle in a namespace of its own on a cluster: the
// bundle in a Pod with a Service for its agent-facing ports, the agent in a
// Pod of its own (containers of one Pod share its network namespace, so no
// policy could keep the agent from going around the bundle) that a
// NetworkPolicy lets reach the bundle and nothing else.
type kubeBackend struct{}

// Timeouts of the two waits (kubectl wait --timeout): a Pod's image may
// have to be pulled.
const (
	AgentReadyTimeout = 180
	BundlePodTimeout  = 180
)

// PullPolicies are --image-pull-policy's values (a Pod's imagePullPolicy).
var PullPolicies = []string{"IfNotPresent", "Always", "Never"}

// DefaultPullPolicy pulls an image the node does not have yet.
const DefaultPullPolicy = "IfNotPresent"

// kubeAgentCaps and kubeBundleCaps are the capabilities the agent's and the
// bundle's containers keep: those of agentHardening and bundleHardening
// (a test keeps them equal), for the same reasons.
var (
	kubeAgentCaps  = []string{"CHOWN", "FOWNER", "FSETID", "DAC_OVERRIDE", "SETUID", "SETGID"}
	kubeBundleCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL"}
)

// The CPU the Pods ask the scheduler for (their limits are --cpus and
// --bundle-cpus): an agent mostly waits for the model.
const (
	agentRequestCPU  = "250m"
	bundleRequestCPU = "100m"
)

// maxBundleFiles bounds the bundle's files: they travel as a Secret, which
// the API server caps at 1 MiB.
const maxBundleFiles = 768 << 10

func (kubeBackend) ns(p *Plan) string { return p.Cluster.Namespace(p.Bottle) }

// start creates the namespace alone (a taken name creates nothing else),
// then the bundle's objects, reads the Service's address, creates the
// agent's Pod naming the daemons at that address, and provisions the
// agent once its Pod is ready; the bundle starts meanwhile (its readiness
// is waited for last, by waitBundle).
func (b kubeBackend) start(ctx context.Context, s *session) (provision.Guest, error) {
	p, c, ns := s.p, s.p.Cluster, b.ns(s.p)
	dockerBackend{}.discover(p) // the daemons' names (the agent's /etc/hosts), before bottle() reads guestEnv's proxy URL
	spec, err := b.bottle(s)
	if err != nil {
		return nil, err
	}
	nsList := spec.NamespaceObject()
	if err := s.create(ctx, "create namespace", "namespace "+ns, resource{kind: kindNamespace, role: kube.RoleNamespace, cluster: c},
		shell.Cmd{Argv: c.Kubectl("", "create", "--filename=-", "--output=name"), Stdin: bytes.NewReader(nsList.JSON()), Note: nsList.Redacted(nil)}); err != nil {
		return nil, err
	}
	objs := spec.BundleObjects()
	if err := s.step("create bundle", func() error {
		return s.R.Run(ctx, shell.Cmd{Argv: c.Kubectl(ns, "create", "--filename=-", "--output=name"), Stdin: bytes.NewReader(objs.JSON()),
			Note: append(objs.Redacted(provision.Notes(p.Bundle.Files)), pipelockNote(p)...)})
	}); err != nil {
		return nil, err
	}
	var ip string
	if err := s.step("discover service", func() error { ip, err = b.serviceIP(ctx, s); return err }); err != nil {
		return nil, err
	}
	agent := spec.AgentObjects(ip)
	if err := s.step("create agent", func() error {
		return s.R.Run(ctx, shell.Cmd{Argv: c.Kubectl(ns, "create", "--filename=-", "--output=name"), Stdin: bytes.NewReader(agent.JSON()),
			Note: append(agent.Redacted(nil), append(tokenNote(s.guestEnv(b)), b.limitsNote(p)...)...)})
	}); err != nil {
		return nil, err
	}
	if err := s.step("wait for agent", func() error {
		return shell.Run(ctx, s.R, c.Kubectl(ns, "wait", "--for=condition=Ready", "--timeout="+strconv.Itoa(AgentReadyTimeout)+"s", "pod/"+kube.AgentPod)...)
	}); err != nil {
		return nil, err
	}
	guest := c.Guest(s.R, ns)
	return guest, s.provision(ctx, guest)
}

// serviceIP is the bundle Service's cluster address, checked.
func (b kubeBackend) serviceIP(ctx context.Context, s *session) (string, error) {
	out, err := shell.Output(ctx, s.R, s.p.Cluster.Kubectl(b.ns(s.p), "get", "service", kube.BundleService, "--output=jsonpath={.spec.clusterIP}")...)
	if err != nil {
		return "", err
	}
	if s.p.DryRun {
		return "<the Service's cluster IP>", nil
	}
	if ip := net.ParseIP(out); ip == nil || ip.IsUnspecified() {
		return "", fmt.Errorf("the bundle's Service has no cluster IP (kubectl printed %q)", out)
	}
	return out, nil
}

// waitBundle: the bundle's Pod is Ready when its probe (sidecar wait)
// finds every daemon accepting connections.
func (b kubeBackend) waitBundle(ctx context.Context, s *session) error {
	return shell.Run(ctx, s.R, s.p.Cluster.Kubectl(b.ns(s.p), "wait", "--for=condition=Ready",
		"--timeout="+strconv.Itoa(BundlePodTimeout)+"s", "pod/"+kube.BundlePod)...)
}

// guestEnv: as on docker (the daemons' names resolve through the Pod's
// /etc/hosts to the Service).
func (kubeBackend) guestEnv(p *Plan) []EnvVar { return dockerBackend{}.guestEnv(p) }

func (kubeBackend) limitsNote(p *Plan) []string {
	return []string{fmt.Sprintf("limits: memory and cpu as given; --pids (%d) is the cluster's: the kubelet's podPidsLimit", p.AgentLimits.Pids)}
}

// bottle gathers the objects' inputs: labels, images, the bundle's files as
// one archive, each variable with a secret value in a Secret of its Pod's.
func (b kubeBackend) bottle(s *session) (kube.Bottle, error) {
	p := s.p
	k := kube.Bottle{Name: p.Bottle, Namespace: b.ns(p), RoleLabel: LabelRole,
		Labels:     map[string]string{LabelName: p.Bottle, LabelBackend: Kubernetes},
		AgentImage: p.AgentImage, BundleImage: p.BundleImage, PullPolicy: p.PullPolicy,
		AgentLimits:  kube.Limits{MemoryMiB: p.AgentLimits.MemoryMiB, CPUs: p.AgentLimits.CPUs, RequestCPU: agentRequestCPU},
		BundleLimits: kube.Limits{MemoryMiB: p.BundleLimits.MemoryMiB, CPUs: p.BundleLimits.CPUs, RequestCPU: bundleRequestCPU},
		AgentCaps:    kubeAgentCaps, BundleCaps: kubeBundleCaps,
		BundleCommand: []string{"/bin/sh", "-c", `tar --extract --file="$0" --directory=/ --preserve-permissions --same-owner --numeric-owner && exec "$@"`,
			kube.FilesMount + "/" + kube.FilesArchive, bundle.Binary, "sidecar", "run"},
		ReadyCommand:     []string{bundle.Binary, "sidecar", "wait", "--timeout", "1s"},
		AgentAnnotations: s.record.Annotations(),
	}
	for _, port := range p.Bundle.PortsToPublish {
		k.Ports = append(k.Ports, kube.Port{Name: daemonOfPort(port), Port: port})
	}
	if !p.DryRun { // a dry-run reads no file
		var files bytes.Buffer
		if err := provision.WriteArchive(&files, p.Bundle.Files); err != nil {
			return k, fmt.Errorf("the bundle's files: %w", err)
		}
		if files.Len() > maxBundleFiles {
			return k, badInput("the bundle's files (spec, CAs, credentials, known_hosts) take %d bytes: a Secret holds at most %d here", files.Len(), maxBundleFiles)
		}
		k.Files = files.Bytes()
	}
	if e := p.Egress; e != nil {
		k.BundleHosts = []kube.HostAlias{{IP: "127.0.0.1", Hostnames: []string{bundle.EgressHost}}} // pipelock dials egress on the bundle's loopback
		cred, _ := s.getenv(e.Credential)
		k.BundleEnv = []kube.SecretEnv{{Name: e.Credential, Value: cred}, {Name: bundle.EgressTokenEnv, Value: e.Token}}
	}
	for _, v := range s.guestEnv(b) {
		switch {
		case v.Token:
			k.AgentEnv = append(k.AgentEnv, kube.SecretEnv{Name: v.Name, Value: p.Egress.Token}) // the bottle token, never the credential
		case v.ByName:
			val, _ := s.getenv(v.Name)
			k.AgentEnv = append(k.AgentEnv, kube.SecretEnv{Name: v.Name, Value: val})
		default:
			k.AgentPlainEnv = append(k.AgentPlainEnv, kube.Env{Name: v.Name, Value: v.Value})
		}
	}
	return k, nil
}

// daemonOfPort names an agent-facing port by its daemon (the Service's
// port names, the agent's host names).
func daemonOfPort(port int) string {
	switch port {
	case bundle.GitGatePort:
		return bundle.GitGate
	case bundle.SupervisePort:
		return bundle.Supervise
	}
	return bundle.Pipelock
}

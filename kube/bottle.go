package kube

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Bottle is what the launch decided about a bottle, as its objects need it.
type Bottle struct {
	Name      string
	Namespace string
	// Labels go on every object (claude-bottle.name, .backend); each object
	// adds its claude-bottle.role.
	Labels map[string]string
	// RoleLabel is the role label's key.
	RoleLabel string

	AgentImage, BundleImage string
	PullPolicy              string
	// Ports are the bundle's agent-facing ports (the Service's; egress's
	// port is never among them).
	Ports []Port
	// Files is the tar archive of the bundle's files (spec, CAs, keys,
	// credentials, secret), extracted by the bundle before its daemons start.
	Files []byte
	// BundleEnv and AgentEnv are variables whose values live in a Secret
	// of the pod's own (never in a Pod manifest).
	BundleEnv, AgentEnv []SecretEnv
	// AgentPlainEnv are the agent's variables with plain values.
	AgentPlainEnv []Env
	// BundleHosts are /etc/hosts entries of the bundle's pod (egress).
	BundleHosts []HostAlias
	// AgentAnnotations record the host repository and base commit.
	AgentAnnotations map[string]string
	// Limits.
	AgentLimits, BundleLimits Limits
	// Capabilities each container keeps (all others dropped).
	AgentCaps, BundleCaps []string
	// BundleCommand starts the bundle (extracts Files, then the init).
	BundleCommand []string
	// ReadyCommand is the bundle's readiness probe.
	ReadyCommand []string
}

// Port is one agent-facing port.
type Port struct {
	Name string
	Port int
}

// SecretEnv is a variable whose value is a Secret's key.
type SecretEnv struct{ Name, Value string }

// Limits are a container's CPU and memory limits, and the CPU it asks the
// scheduler for.
type Limits struct {
	MemoryMiB int
	CPUs      string
	// RequestCPU is reserved on the node: a limit of 2 CPUs need not find
	// 2 idle ones (requests default to the limits otherwise). Memory is
	// requested whole: it cannot be taken back without killing.
	RequestCPU string
}

func (l Limits) resources() Resources {
	mem := strconv.Itoa(l.MemoryMiB) + "Mi"
	return Resources{Requests: map[string]string{"memory": mem, "cpu": l.RequestCPU},
		Limits: map[string]string{"memory": mem, "cpu": l.CPUs}}
}

// Roles (claude-bottle.role) of a bottle's objects.
const (
	RoleNamespace = "namespace"
	RoleBundle    = "bundle"
	RoleAgent     = "agent"
)

func (b Bottle) meta(name, role string) Meta {
	l := map[string]string{b.RoleLabel: role}
	for k, v := range b.Labels {
		l[k] = v
	}
	return Meta{Name: name, Namespace: b.Namespace, Labels: l}
}

func (b Bottle) selector(role string) Selector {
	return Selector{MatchLabels: map[string]string{b.RoleLabel: role, "claude-bottle.name": b.Name}}
}

func ptr[T any](v T) *T { return &v }

// NamespaceObject is created first, alone: when the name is taken,
// nothing else is created in a namespace that is not the bottle's.
func (b Bottle) NamespaceObject() List {
	ns := Object{APIVersion: "v1", Kind: "Namespace", Metadata: b.meta(b.Namespace, RoleNamespace)}
	ns.Metadata.Namespace = ""
	return NewList(ns)
}

// BundleObjects come next, in one `kubectl create`: the bundle's Secrets,
// both NetworkPolicies (the agent's exists before the agent does), the
// bundle's Pod and its Service.
func (b Bottle) BundleObjects() List {
	items := []Object{
		{APIVersion: "v1", Kind: "Secret", Type: "Opaque", Metadata: b.meta(BundleFiles, RoleBundle),
			Data: map[string][]byte{FilesArchive: b.Files}},
	}
	if len(b.BundleEnv) > 0 {
		items = append(items, b.envSecret(BundleEnv, RoleBundle, b.BundleEnv))
	}
	items = append(items, b.agentPolicy(), b.bundlePolicy(), b.bundlePod(), b.service())
	return NewList(items...)
}

// AgentObjects come once the Service has its address: the agent's Secret
// (when it has secret variables) and its Pod, whose /etc/hosts names the
// bundle's daemons at serviceIP.
func (b Bottle) AgentObjects(serviceIP string) List {
	var items []Object
	if len(b.AgentEnv) > 0 {
		items = append(items, b.envSecret(AgentEnv, RoleAgent, b.AgentEnv))
	}
	return NewList(append(items, b.agentPod(serviceIP))...)
}

func (b Bottle) envSecret(name, role string, env []SecretEnv) Object {
	data := map[string][]byte{}
	for _, e := range env {
		data[e.Name] = []byte(e.Value)
	}
	return Object{APIVersion: "v1", Kind: "Secret", Type: "Opaque", Metadata: b.meta(name, role), Data: data}
}

func secretEnv(secret string, env []SecretEnv) []Env {
	var out []Env
	for _, e := range env {
		out = append(out, Env{Name: e.Name, ValueFrom: &EnvSource{SecretKeyRef: KeyRef{Name: secret, Key: e.Name}}})
	}
	return out
}

func (b Bottle) portsOf() []PolicyPort {
	var out []PolicyPort
	for _, p := range b.Ports {
		out = append(out, PolicyPort{Protocol: "TCP", Port: p.Port})
	}
	return out
}

// agentPolicy: the agent's pod talks to the bundle's agent-facing ports
// and nothing else (no DNS either: its names are in its /etc/hosts), and
// nothing talks to it.
func (b Bottle) agentPolicy() Object {
	return Object{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Metadata: b.meta(AgentPolicy, RoleAgent),
		Spec: PolicySpec{
			PodSelector: b.selector(RoleAgent),
			PolicyTypes: []string{"Ingress", "Egress"}, // no ingress rule: none
			Egress:      []PolicyRule{{To: []Peer{{PodSelector: b.selector(RoleBundle)}}, Ports: b.portsOf()}},
		}}
}

// bundlePolicy: only the agent reaches the bundle, on the agent-facing
// ports (egress's 8080 is on the bundle's loopback, not even listed). The
// bundle's own egress is the way out: not restricted.
func (b Bottle) bundlePolicy() Object {
	return Object{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Metadata: b.meta(BundlePolicy, RoleBundle),
		Spec: PolicySpec{
			PodSelector: b.selector(RoleBundle),
			PolicyTypes: []string{"Ingress"},
			Ingress:     []PolicyRule{{From: []Peer{{PodSelector: b.selector(RoleAgent)}}, Ports: b.portsOf()}},
		}}
}

func (b Bottle) service() Object {
	var ports []ServicePort
	for _, p := range b.Ports {
		ports = append(ports, ServicePort{Name: p.Name, Protocol: "TCP", Port: p.Port, TargetPort: p.Port})
	}
	return Object{APIVersion: "v1", Kind: "Service", Metadata: b.meta(BundleService, RoleBundle),
		Spec: ServiceSpec{Type: "ClusterIP", Selector: b.selector(RoleBundle).MatchLabels, Ports: ports}}
}

func (b Bottle) bundlePod() Object {
	c := Container{Name: BundleCont, Image: b.BundleImage, ImagePullPolicy: b.PullPolicy,
		Command:         b.BundleCommand,
		Env:             secretEnv(BundleEnv, b.BundleEnv),
		Resources:       b.BundleLimits.resources(),
		SecurityContext: hardened(b.BundleCaps),
		VolumeMounts:    []VolumeMount{{Name: "files", MountPath: FilesMount, ReadOnly: true}},
		// Ready once every daemon accepts connections: `kubectl wait` is
		// the launch's last check.
		ReadinessProbe: &Probe{Exec: ExecAction{Command: b.ReadyCommand}, PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 3},
	}
	for _, p := range b.Ports {
		c.Ports = append(c.Ports, ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: "TCP"})
	}
	return Object{APIVersion: "v1", Kind: "Pod", Metadata: b.meta(BundlePod, RoleBundle),
		Spec: PodSpec{
			AutomountServiceAccountToken: ptr(false), // nothing in the bottle talks to the API server
			EnableServiceLinks:           ptr(false),
			RestartPolicy:                "Never", // a restarted bundle would have lost its state: the launch fails instead
			HostAliases:                  b.BundleHosts,
			Containers:                   []Container{c},
			Volumes: []Volume{{Name: "files", Secret: SecretVolume{SecretName: BundleFiles,
				DefaultMode: 0o400}}}, // root's alone; the bundle's init hands each daemon its part
		}}
}

func (b Bottle) agentPod(serviceIP string) Object {
	env := append(append([]Env(nil), b.AgentPlainEnv...), secretEnv(AgentEnv, b.AgentEnv)...)
	m := b.meta(AgentPod, RoleAgent)
	m.Annotations = b.AgentAnnotations
	return Object{APIVersion: "v1", Kind: "Pod", Metadata: m,
		Spec: PodSpec{
			AutomountServiceAccountToken:  ptr(false), // the agent never reaches the API server, and holds no token for it
			EnableServiceLinks:            ptr(false), // no variables naming the cluster's services
			RestartPolicy:                 "Never",    // a restart would lose the agent's work: the bottle ends instead
			TerminationGracePeriodSeconds: ptr[int64](2),
			HostAliases:                   []HostAlias{{IP: serviceIP, Hostnames: b.daemonNames()}},
			Containers: []Container{{Name: AgentContainer, Image: b.AgentImage, ImagePullPolicy: b.PullPolicy,
				Command:         []string{"sleep", "infinity"},
				Env:             env,
				Resources:       b.AgentLimits.resources(),
				SecurityContext: hardened(b.AgentCaps),
			}},
		}}
}

// daemonNames are the names the agent reaches the bundle's daemons by
// (as on docker: pipelock, git-gate, supervise).
func (b Bottle) daemonNames() []string {
	var out []string
	for _, p := range b.Ports {
		out = append(out, p.Name)
	}
	return out
}

func hardened(caps []string) SecurityContext {
	return SecurityContext{AllowPrivilegeEscalation: ptr(false), // no-new-privileges
		Capabilities: Capabilities{Drop: []string{"ALL"}, Add: caps}}
}

// Redacted is the list as the dry-run and the logs show it, whole, but
// with every Secret's values replaced by their sizes (the files' archive
// by files, its listing).
func (l List) Redacted(files []string) []string {
	var shown struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(l.JSON(), &shown); err != nil {
		panic(err) // our own JSON
	}
	for i, o := range l.Items {
		if o.Kind != "Secret" {
			continue
		}
		data := map[string]any{}
		for k, v := range o.Data {
			data[k] = fmt.Sprintf("<%d bytes, never shown>", len(v))
			if k == FilesArchive && o.Metadata.Name == BundleFiles {
				data[k] = listing(files)
			}
		}
		shown.Items[i]["data"] = data
	}
	out := List{APIVersion: l.APIVersion, Kind: l.Kind}
	b, err := json.MarshalIndent(map[string]any{"apiVersion": out.APIVersion, "kind": out.Kind, "items": shown.Items}, "", "  ")
	if err != nil {
		panic(err)
	}
	return strings.Split(string(b), "\n")
}

// listing is the archive's entries, without the content a note shows of
// some (indented lines): the content is in the launch's other notes.
func listing(notes []string) []string {
	out := []string{}
	for _, n := range notes {
		if !strings.HasPrefix(n, " ") {
			out = append(out, n)
		}
	}
	return out
}

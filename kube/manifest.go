package kube

import "encoding/json"

// The manifests' types: the fields of the Kubernetes API objects
// (k8s.io/api core/v1 and networking/v1) that a bottle uses, spelled as the
// API spells them. kubectl reads them as JSON.

// Meta is an object's metadata.
type Meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Object is one API object of a List.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   Meta   `json:"metadata"`
	// Secret.
	Type string            `json:"type,omitempty"`
	Data map[string][]byte `json:"data,omitempty"` // base64 in JSON, as the API wants
	// Pod, Service, NetworkPolicy.
	Spec any `json:"spec,omitempty"`
}

// List is what one `kubectl create -f -` reads.
type List struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Items      []Object `json:"items"`
}

// NewList lists objects in the order kubectl creates them.
func NewList(items ...Object) List { return List{APIVersion: "v1", Kind: "List", Items: items} }

// JSON is the list as kubectl reads it.
func (l List) JSON() []byte {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return append(b, '\n')
}

// PodSpec is core/v1 PodSpec, the fields a bottle sets.
type PodSpec struct {
	AutomountServiceAccountToken  *bool       `json:"automountServiceAccountToken"`
	EnableServiceLinks            *bool       `json:"enableServiceLinks"`
	RestartPolicy                 string      `json:"restartPolicy"`
	TerminationGracePeriodSeconds *int64      `json:"terminationGracePeriodSeconds,omitempty"`
	HostAliases                   []HostAlias `json:"hostAliases,omitempty"`
	Containers                    []Container `json:"containers"`
	Volumes                       []Volume    `json:"volumes,omitempty"`
}

// HostAlias is one /etc/hosts entry of a pod.
type HostAlias struct {
	IP        string   `json:"ip"`
	Hostnames []string `json:"hostnames"`
}

// Container is core/v1 Container.
type Container struct {
	Name            string          `json:"name"`
	Image           string          `json:"image"`
	ImagePullPolicy string          `json:"imagePullPolicy"`
	Command         []string        `json:"command"`
	Env             []Env           `json:"env,omitempty"`
	Resources       Resources       `json:"resources"`
	SecurityContext SecurityContext `json:"securityContext"`
	VolumeMounts    []VolumeMount   `json:"volumeMounts,omitempty"`
	ReadinessProbe  *Probe          `json:"readinessProbe,omitempty"`
	Ports           []ContainerPort `json:"ports,omitempty"`
	Stdin           bool            `json:"stdin,omitempty"`
}

// ContainerPort documents a port the container listens on.
type ContainerPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Env is one variable: a value, or a key of a Secret (the value never in
// the Pod's manifest).
type Env struct {
	Name      string     `json:"name"`
	Value     string     `json:"value,omitempty"`
	ValueFrom *EnvSource `json:"valueFrom,omitempty"`
}

// EnvSource reads a variable from a Secret.
type EnvSource struct {
	SecretKeyRef KeyRef `json:"secretKeyRef"`
}

// KeyRef names a key of a Secret.
type KeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Resources are a container's requests (what the scheduler reserves) and
// limits.
type Resources struct {
	Requests map[string]string `json:"requests"`
	Limits   map[string]string `json:"limits"`
}

// SecurityContext is a container's.
type SecurityContext struct {
	AllowPrivilegeEscalation *bool        `json:"allowPrivilegeEscalation"`
	Capabilities             Capabilities `json:"capabilities"`
}

// Capabilities dropped and added.
type Capabilities struct {
	Drop []string `json:"drop"`
	Add  []string `json:"add,omitempty"`
}

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly"`
}

// Volume is a pod's volume: a Secret's keys as files.
type Volume struct {
	Name   string       `json:"name"`
	Secret SecretVolume `json:"secret"`
}

// SecretVolume mounts a Secret.
type SecretVolume struct {
	SecretName  string `json:"secretName"`
	DefaultMode int    `json:"defaultMode"`
}

// Probe is an exec readiness probe.
type Probe struct {
	Exec             ExecAction `json:"exec"`
	PeriodSeconds    int        `json:"periodSeconds"`
	TimeoutSeconds   int        `json:"timeoutSeconds"`
	FailureThreshold int        `json:"failureThreshold"`
}

// ExecAction is a probe's command.
type ExecAction struct {
	Command []string `json:"command"`
}

// ServiceSpec is core/v1 ServiceSpec: a ClusterIP with the agent-facing ports.
type ServiceSpec struct {
	Type     string            `json:"type"`
	Selector map[string]string `json:"selector"`
	Ports    []ServicePort     `json:"ports"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string `json:"name"`
	Protocol   string `json:"protocol"`
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort"`
}

// PolicySpec is networking/v1 NetworkPolicySpec.
type PolicySpec struct {
	PodSelector Selector     `json:"podSelector"`
	PolicyTypes []string     `json:"policyTypes"`
	Ingress     []PolicyRule `json:"ingress,omitempty"`
	Egress      []PolicyRule `json:"egress,omitempty"`
}

// PolicyRule is an ingress or egress rule: peers and ports (To for egress,
// From for ingress).
type PolicyRule struct {
	To    []Peer       `json:"to,omitempty"`
	From  []Peer       `json:"from,omitempty"`
	Ports []PolicyPort `json:"ports,omitempty"`
}

// Peer is a pod selector in the policy's namespace.
type Peer struct {
	PodSelector Selector `json:"podSelector"`
}

// Selector matches labels.
type Selector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// PolicyPort is a TCP port.
type PolicyPort struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

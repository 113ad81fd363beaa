// Package bundle is the contract between the launcher on the host and the
// sidecar bundle container: where the launch places the bundle's files before
// the daemons start (the spec, the bottle's secret and CAs, credentials),
// what the bundle's spec file says, and what the bundle leaves for the
// launch to check (the ready marker).
//
// Both sides import it; it imports nothing of either.
package bundle

import (
	"encoding/json"
	"fmt"
)

// Daemon names, as they appear in Spec.Daemons and in prefixed log lines.
const (
	Pipelock  = "pipelock"
	GitGate   = "git-gate"
	Supervise = "supervise"
	Egress    = "egress"
)

// Container ports of the bundle's daemons (design §1).
const (
	PipelockPort  = 8888
	GitGatePort   = 9418
	SupervisePort = 9100
	EgressPort    = 8080
)

// Paths inside the bundle container.
const (
	// ConfigDir holds what the launch places before the daemons start.
	ConfigDir = "/etc/claude-bottle"
	// SpecPath is the bundle's spec (JSON), root 0644.
	SpecPath = ConfigDir + "/bundle.json"
	// PipelockConfigPath is the generated pipelock YAML, root 0600.
	PipelockConfigPath = ConfigDir + "/pipelock.yaml"
	// CredentialDir holds one SSH private key per upstream (root 0600),
	// named after the upstream.
	CredentialDir = ConfigDir + "/credentials"
	// KnownHostsPath pins upstream SSH host keys (root 0644).
	KnownHostsPath = ConfigDir + "/known_hosts"

	// RunDir holds state the bundle creates at start.
	RunDir = "/run/claude-bottle"
	// ReadyPath exists once every daemon accepts connections.
	ReadyPath = RunDir + "/ready"
	// ListenPath holds the address the daemons listen on (one line), chosen
	// by the init at start (see Spec.Listen).
	ListenPath = RunDir + "/listen-address"
	// PipelockCADir holds pipelock's CA, which the launch places with the
	// bundle's files (CAs; the init makes one with `pipelock tls init
	// --out PipelockCADir` only when it is missing).
	PipelockCADir = RunDir + "/pipelock"
	// PipelockCACert is the certificate provisioning installs in the guest.
	// The key (PipelockCAKey) goes to pipelock alone, never to the guest.
	PipelockCACert = PipelockCADir + "/ca.pem"
	PipelockCAKey  = PipelockCADir + "/ca-key.pem"
	// EgressDir holds egress's CA's certificate (EgressCACert, which
	// provisioning installs in the guest) and the certificate and key
	// egress serves EgressHost with (CAs). The CA's key is never written:
	// nothing can sign another name with it.
	EgressDir    = RunDir + "/egress"
	EgressCACert = EgressDir + "/ca.pem"

	// GitRoot is git-gate's base path: one bare repository <name>.git per upstream.
	GitRoot = "/srv/git"
	// SuperviseDir holds supervise's queue and audit log.
	SuperviseDir = "/var/lib/claude-bottle/supervise"
	// SuperviseDecisionsDir holds the operator's decisions: written by root
	// (the operator commands) only, read by the supervise daemon.
	SuperviseDecisionsDir = "/var/lib/claude-bottle/supervise-decisions"

	// Binary is the claude-bottle binary inside the bundle image.
	Binary = "/usr/local/bin/claude-bottle"
)

// Upstream is one git remote the gate mirrors and forwards pushes to.
type Upstream struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Credential is the path of the SSH key inside the bundle, or "".
	Credential string `json:"credential,omitempty"`
	// The ref policy of pushes through the gate. By default no ref is
	// deleted, the default branch only moves forward and an existing tag
	// never moves; AllowForce lets the default branch be rewritten and tags
	// moved, AllowDelete lets refs be deleted (--upstream-policy).
	AllowForce  bool `json:"allow_force,omitempty"`
	AllowDelete bool `json:"allow_delete,omitempty"`
}

// Spec is the bundle's spec file (SpecPath). The launch writes it; the
// sidecar init reads it to decide what to run.
type Spec struct {
	Bottle     string     `json:"bottle"`
	Daemons    []string   `json:"daemons"`
	Upstreams  []Upstream `json:"upstreams,omitempty"`
	KnownHosts string     `json:"known_hosts,omitempty"`
	// AllowHosts are the hosts pipelock lets through (already merged with
	// the defaults); the init renders pipelock's config from them at start,
	// supervise again when it approves a host.
	AllowHosts []string `json:"allow_hosts"`
	// Listen says where the daemons listen: ListenBottleNetwork (docker: the
	// address on the bottle's internal network only, never the bundle's way
	// out) or ListenAll (smolmachines: the published ports reach the
	// bundle's one network).
	Listen string `json:"listen"`
	// Trust is what pipelock lets past its SSRF guard or through
	// untouched, fixed at launch: a reload never widens it (pipelock
	// refuses that), so supervise's re-render keeps it as it is.
	Trust Trust `json:"trust,omitzero"`
	// Egress configures the egress daemon (nil when it does not run).
	Egress *EgressSpec `json:"egress,omitempty"`
}

// EgressSpec is what egress needs besides its environment: where it sends
// the guest's model requests and with which credential.
type EgressSpec struct {
	// Upstream is the model API: https://api.anthropic.com or the host's
	// ANTHROPIC_BASE_URL.
	Upstream string `json:"upstream"`
	// Credential names the bundle's environment variable that holds the
	// user's credential: ANTHROPIC_API_KEY (sent as x-api-key) or
	// CLAUDE_CODE_OAUTH_TOKEN (Authorization: Bearer). Its value, and the
	// bottle token's (EgressTokenEnv), reach the bundle by name only.
	Credential string `json:"credential"`
}

// The guest reaches egress through pipelock as a CONNECT to EgressHost,
// which resolves to the bundle's own loopback (docker create --add-host):
// pipelock passes it through untouched (allowlisted, trusted past its SSRF
// guard, a passthrough domain), and egress listens on 127.0.0.1 only, so
// nothing else reaches it. ".internal" is reserved for private use (ICANN,
// 2024): the name never resolves anywhere else.
const (
	EgressHost = "egress.bottle.internal"
	// EgressTokenEnv names the variable that holds the bottle token in the
	// bundle (and, on smolmachines, the host variable the guest's
	// reference names).
	EgressTokenEnv = "CLAUDE_BOTTLE_EGRESS_TOKEN"
)

// The user's model credentials, as Claude Code reads them: an API key
// (sent as x-api-key) or a subscription OAuth token (claude setup-token;
// Authorization: Bearer). The names are the same on the host, in the bundle
// and in the guest.
const (
	APIKeyEnv     = "ANTHROPIC_API_KEY"
	OAuthTokenEnv = "CLAUDE_CODE_OAUTH_TOKEN"
)

// Trust widens pipelock's defaults on purpose (--allow-private, egress's
// bundle-local name).
type Trust struct {
	// Domains pass the SSRF guard by name (trusted_domains).
	Domains []string `json:"domains,omitempty"`
	// CIDRs pass it by address (ssrf.ip_allowlist).
	CIDRs []string `json:"cidrs,omitempty"`
	// Passthrough are spliced without TLS interception.
	Passthrough []string `json:"passthrough,omitempty"`
}

// Values of Spec.Listen.
const (
	ListenBottleNetwork = "bottle-network"
	ListenAll           = "all"
)

// Has reports whether the spec asks for the daemon.
func (s Spec) Has(daemon string) bool {
	for _, d := range s.Daemons {
		if d == daemon {
			return true
		}
	}
	return false
}

// Marshal renders the spec as indented JSON with a trailing newline.
func (s Spec) Marshal() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("bundle spec: %v", err)) // plain data: cannot fail
	}
	return append(b, '\n')
}

// ParseSpec reads a spec file's content.
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Spec{}, fmt.Errorf("parse bundle spec: %w", err)
	}
	if !s.Has(Pipelock) {
		return Spec{}, fmt.Errorf("parse bundle spec: daemon %q is required", Pipelock)
	}
	return s, nil
}

// Resource names of a bottle, the same on both backends. The bottle name is
// validated by the launcher (see launch.ValidateName).
func ContainerName(bottle string) string { return "claude-bottle-" + bottle + "-bundle" }

// AgentName is the agent container (docker) or machine (smolvm).
func AgentName(bottle string) string { return "claude-bottle-" + bottle + "-agent" }

// NetworkName is the bottle's internal docker network.
func NetworkName(bottle string) string { return "claude-bottle-" + bottle + "-net" }

// PidPath is where the sidecar init records a running daemon's PID.
func PidPath(daemon string) string { return RunDir + "/" + daemon + ".pid" }

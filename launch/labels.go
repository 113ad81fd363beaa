package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Label keys on every resource a launch creates.
const (
	LabelName    = "claude-bottle.name"
	LabelRole    = "claude-bottle.role"
	LabelBackend = "claude-bottle.backend"
)

// Roles.
const (
	RoleNetwork = "network"
	RoleBundle  = "bundle"
	RoleAgent   = "agent"
)

// labelArgs are the --label flags for a resource of the plan's bottle
// (docker and smolvm spell them the same way).
func (p *Plan) labelArgs(role string) []string {
	return []string{
		"--label", LabelName + "=" + p.Bottle,
		"--label", LabelRole + "=" + role,
		"--label", LabelBackend + "=" + p.Backend,
	}
}

// Kinds of resources.
const (
	kindNetwork   = "network"
	kindContainer = "container"
	kindMachine   = "machine"
	kindNamespace = "namespace" // kubernetes: everything of the bottle is in it
)

// resource is a docker network, docker container or smolvm machine that
// carries a bottle's labels.
type resource struct {
	kind string
	// id is docker's full ID, or a machine's name (smolvm names are unique);
	// "" while the command creating it has not printed it.
	id      string
	name    string
	bottle  string // the claude-bottle.name label
	role    string
	backend string
	// Containers only, for ls.
	state, created, ports string
	// cluster: namespaces only.
	cluster kube.Cluster
}

// removeArgv removes the resource by its ID.
func (r resource) removeArgv() []string {
	switch r.kind {
	case kindNetwork:
		return []string{"docker", "network", "rm", r.id}
	case kindMachine:
		return []string{"smolvm", "machine", "delete", "-n", r.id, "-f"} // -f: else it prompts, and does nothing
	case kindNamespace:
		return r.cluster.Kubectl("", "delete", "namespace", r.id,
			"--ignore-not-found", // gone already: nothing to do
			"--wait=true")        // returns once every object in it is gone
	}
	return []string{"docker", "rm", "-f", r.id}
}

// derivedName is the name a launch gives the resource of a role of a bottle.
func derivedName(kind, role, bottle string) string {
	switch {
	case kind == kindNetwork && role == RoleNetwork:
		return bundle.NetworkName(bottle)
	case kind == kindContainer && role == RoleBundle:
		return bundle.ContainerName(bottle)
	case (kind == kindContainer || kind == kindMachine) && role == RoleAgent:
		return bundle.AgentName(bottle)
	}
	return ""
}

// ours reports whether the resource is the bottle's: its role label and its
// name agree. Labels alone prove nothing: a container inherits its image's
// labels, and anyone may set any label.
func (r resource) ours() bool {
	if r.kind == kindNamespace {
		return bundle.ValidateName(r.bottle) == nil && r.name == r.cluster.Namespace(r.bottle)
	}
	return bundle.ValidateName(r.bottle) == nil && r.name == derivedName(r.kind, r.role, r.bottle)
}

// The formats print one JSON object per resource, each label read on its
// own with {{.Label}}: .Labels joins them with commas, so a value holding
// ",claude-bottle.name=x" would read as a second label. Not '{{json .}}':
// that asks docker for every container's disk size, which takes seconds.
const (
	labelFields = `"Bottle":{{json (.Label "` + LabelName + `")}},"Role":{{json (.Label "` + LabelRole + `")}},` +
		`"Backend":{{json (.Label "` + LabelBackend + `")}}`
	containerFormat = `{"ID":{{json .ID}},"Names":{{json .Names}},"State":{{json .State}},"Ports":{{json .Ports}},` +
		`"CreatedAt":{{json .CreatedAt}},` + labelFields + `}`
	networkFormat = `{"ID":{{json .ID}},"Name":{{json .Name}},` + labelFields + `}`
)

// listed is one line of containerFormat or networkFormat.
type listed struct {
	ID, Names, Name, State, Ports, CreatedAt string
	Bottle, Role, Backend                    string
}

// dockerID is a full docker ID (ps and network ls with --no-trunc, and
// what the creating commands print).
var dockerID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// nameFilter selects the resources of one bottle, or of any ("").
func nameFilter(bottle string) string {
	if bottle == "" {
		return "label=" + LabelName
	}
	return "label=" + LabelName + "=" + bottle
}

// findContainers lists the containers of a bottle ("": of any bottle).
func findContainers(ctx context.Context, r shell.Runner, bottle string) ([]resource, error) {
	out, err := shell.Output(ctx, r, "docker", "ps", "--all", "--no-trunc", "--filter", nameFilter(bottle), "--format", containerFormat)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	return parseListed(out, kindContainer, "docker ps")
}

// findNetworks lists the networks of a bottle ("": of any bottle).
func findNetworks(ctx context.Context, r shell.Runner, bottle string) ([]resource, error) {
	out, err := shell.Output(ctx, r, "docker", "network", "ls", "--no-trunc", "--filter", nameFilter(bottle), "--format", networkFormat)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return parseListed(out, kindNetwork, "docker network ls")
}

// parseListed reads the lines of a format above and keeps what is ours.
func parseListed(out, kind, what string) ([]resource, error) {
	var rs []resource
	for _, line := range nonEmptyLines(out) {
		var l listed
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("%s printed %q: %v", what, line, err)
		}
		if !dockerID.MatchString(l.ID) {
			return nil, fmt.Errorf("%s printed %q: not a full ID", what, l.ID)
		}
		name := l.Names
		if kind == kindNetwork {
			name = l.Name
		}
		r := resource{kind: kind, id: l.ID, name: name, bottle: l.Bottle, role: l.Role,
			backend: l.Backend, state: l.State, created: l.CreatedAt, ports: l.Ports}
		if r.ours() {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// findMachines lists the smolvm machines of a bottle ("": of any bottle).
func findMachines(ctx context.Context, r shell.Runner, bottle string) ([]resource, error) {
	ms, err := listMachines(ctx, r)
	if err != nil {
		return nil, err
	}
	var rs []resource
	for _, m := range ms {
		res := resource{kind: kindMachine, id: m.Name, name: m.Name, bottle: m.Labels[LabelName],
			role: m.Labels[LabelRole], backend: m.Labels[LabelBackend], state: m.State}
		if res.ours() && (bottle == "" || res.bottle == bottle) {
			rs = append(rs, res)
		}
	}
	return rs, nil
}

// smolMachine is the part of `smolvm machine ls --json` that is read.
type smolMachine = job.Machine

// listMachines reads `smolvm machine ls --json` (one reader, in job).
func listMachines(ctx context.Context, r shell.Runner) ([]smolMachine, error) {
	return job.ListMachines(ctx, r)
}

// bottleResources are the resources of a bottle in the order they are
// removed in: machine, agent, bundle, networks (several when docker let
// concurrent creates share the name).
func bottleResources(ctx context.Context, r shell.Runner, bottle string, w job.Where) ([]resource, error) {
	if w.Backend == Kubernetes {
		return findNamespace(ctx, r, w.Cluster, bottle)
	}
	var out []resource
	if w.Smolvm || w.Backend == Smolmachines {
		ms, err := findMachines(ctx, r, bottle)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	cs, err := findContainers(ctx, r, bottle)
	if err != nil {
		return nil, err
	}
	for _, role := range []string{RoleAgent, RoleBundle} {
		out = append(out, withRole(cs, role)...)
	}
	ns, err := findNetworks(ctx, r, bottle)
	if err != nil {
		return nil, err
	}
	return append(out, ns...), nil
}

func withRole(rs []resource, role string) []resource {
	var out []resource
	for _, r := range rs {
		if r.role == role {
			out = append(out, r)
		}
	}
	return out
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

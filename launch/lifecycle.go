package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Bottle is one bottle as `ls` shows it.
type Bottle struct {
	Name    string   `json:"name"`
	Backend string   `json:"backend"`
	State   string   `json:"state"` // the agent's state; "incomplete" when its guest is gone
	Created string   `json:"created"`
	Ports   []string `json:"ports"` // published bundle ports, HOST->CONTAINER
}

// psFormat prints one JSON object per container with the fields ls reads.
// Not '{{json .}}': that asks docker for every container's disk size, which
// takes seconds.
const psFormat = `{"Names":{{json .Names}},"State":{{json .State}},"Ports":{{json .Ports}},` +
	`"Labels":{{json .Labels}},"CreatedAt":{{json .CreatedAt}}}`

// psLine is the part of `docker ps` that ls reads.
type psLine struct {
	Names, State, Ports, Labels, CreatedAt string
}

// smolMachine is the part of `smolvm machine ls --json` that ls reads.
type smolMachine struct {
	Name      string            `json:"name"`
	State     string            `json:"state"`
	CreatedAt int64             `json:"created_at"`
	Labels    map[string]string `json:"labels"`
}

// List finds every bottle from the labels of its resources: docker
// containers (bundles of both backends, docker agents) and, when any bottle
// runs on smolmachines (or withSmolvm), smolvm machines.
func List(ctx context.Context, r shell.Runner, withSmolvm bool) ([]Bottle, error) {
	out, err := shell.Output(ctx, r, "docker", "ps", "--all", "--filter", "label="+LabelName, "--format", psFormat)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	bottles := map[string]*Bottle{}
	for _, line := range nonEmptyLines(out) {
		var c psLine
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("list containers: docker ps printed %q: %v", line, err)
		}
		addContainer(bottles, c)
		withSmolvm = withSmolvm || parseLabels(c.Labels)[LabelBackend] == Smolmachines
	}
	if withSmolvm {
		if err := addMachines(ctx, r, bottles); err != nil {
			return nil, err
		}
	}
	return sorted(bottles), nil
}

func addContainer(bottles map[string]*Bottle, c psLine) {
	l := parseLabels(c.Labels)
	b := bottleFor(bottles, l[LabelName], l[LabelBackend])
	switch l[LabelRole] {
	case RoleBundle:
		b.Created = c.CreatedAt
		if c.Ports != "" {
			b.Ports = strings.Split(c.Ports, ", ")
		}
	case RoleAgent:
		b.State = c.State
	}
}

// listMachines reads `smolvm machine ls --json`.
func listMachines(ctx context.Context, r shell.Runner) ([]smolMachine, error) {
	out, err := shell.Output(ctx, r, "smolvm", "machine", "ls", "--json")
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	var ms []smolMachine
	if out == "" {
		return ms, nil // a dry-run answers nothing
	}
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		return nil, fmt.Errorf("list machines: smolvm printed %q: %v", out, err)
	}
	return ms, nil
}

func addMachines(ctx context.Context, r shell.Runner, bottles map[string]*Bottle) error {
	ms, err := listMachines(ctx, r)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if name := m.Labels[LabelName]; name != "" {
			bottleFor(bottles, name, Smolmachines).State = m.State
		}
	}
	return nil
}

func bottleFor(bottles map[string]*Bottle, name, backend string) *Bottle {
	b, ok := bottles[name]
	if !ok {
		b = &Bottle{Name: name, Backend: backend, State: "incomplete", Ports: []string{}}
		bottles[name] = b
	}
	return b
}

func sorted(m map[string]*Bottle) []Bottle {
	out := make([]Bottle, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
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

// Stop removes every resource labelled with the bottle's name: its machine
// (when withSmolvm), containers (agent before bundle), then networks. A
// bottle that is already gone is not an error. It returns what it removed.
func Stop(ctx context.Context, r shell.Runner, name string, withSmolvm bool) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	td := &teardown{r: r}
	filter := "label=" + LabelName + "=" + name
	nets, err := shell.Output(ctx, r, "docker", "network", "ls", "--filter", filter, "--format", "{{.Name}}")
	if err != nil {
		return nil, fmt.Errorf("stop %s: list networks: %w", name, err)
	}
	for _, n := range nonEmptyLines(nets) {
		td.push("network "+n, "docker", "network", "rm", n)
	}
	ctrs, err := shell.Output(ctx, r, "docker", "ps", "--all", "--filter", filter, "--format", "{{.Names}}")
	if err != nil {
		return nil, fmt.Errorf("stop %s: list containers: %w", name, err)
	}
	// Pushed bundle first, so that it is removed after the agent.
	for _, c := range bundleFirst(nonEmptyLines(ctrs), bundle.ContainerName(name)) {
		td.push("container "+c, "docker", "rm", "-f", c)
	}
	if withSmolvm {
		if err := pushMachines(ctx, r, td, name); err != nil {
			return nil, fmt.Errorf("stop %s: %w", name, err)
		}
	}
	var removed []string
	for i := len(td.steps) - 1; i >= 0; i-- {
		removed = append(removed, td.steps[i].what)
	}
	if err := td.run(ctx); err != nil {
		return nil, fmt.Errorf("stop %s: %w", name, err)
	}
	return removed, nil
}

func pushMachines(ctx context.Context, r shell.Runner, td *teardown, name string) error {
	ms, err := listMachines(ctx, r)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Labels[LabelName] == name {
			td.push("machine "+m.Name, "smolvm", "machine", "delete", "-n", m.Name, "-f")
		}
	}
	return nil
}

func bundleFirst(names []string, bundleName string) []string {
	out := []string{}
	for _, n := range names {
		if n == bundleName {
			out = append([]string{n}, out...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

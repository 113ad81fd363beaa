package launch

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Bottle is one bottle as `ls` shows it.
type Bottle struct {
	Name    string `json:"name"`
	Backend string `json:"backend"`
	State   string `json:"state"` // the agent's state; "incomplete" when its guest is gone, "unknown" when smolvm cannot say
	// Agent is what the agent's session says (job.State): running, exited
	// N, none (no session: the launch was attached); unknown when the guest
	// does not run or did not answer.
	Agent   string   `json:"agent"`
	Created string   `json:"created"`
	Ports   []string `json:"ports"` // published bundle ports, HOST->CONTAINER
}

// Bottles acts on the bottles that exist: ls and stop. A resource is a
// bottle's when its labels name the bottle and a role, and its name is the
// one a launch gives that role (claude-bottle-NAME-bundle, …).
type Bottles struct {
	R   shell.Runner
	Log logrus.FieldLogger
	// Locks make a stop wait for a launch of the same name.
	Locks Locks
	// Smolvm: look at smolvm machines too (the backend is smolmachines, or
	// smolvm is installed).
	Smolvm bool
	// Serial removes one resource at a time (teardown).
	Serial bool
	// Kube: the bottles are the cluster's (--backend kubernetes), and only
	// those (docker and smolvm need not be there).
	Kube    bool
	Cluster kube.Cluster
}

func (b *Bottles) where() job.Where {
	if b.Kube {
		return job.Where{Backend: Kubernetes, Cluster: b.Cluster}
	}
	return job.Where{Backend: Docker, Smolvm: b.Smolvm}
}

// List finds every bottle from its containers, networks and, when any
// bottle runs on smolmachines (or Smolvm), smolvm machines. When smolvm
// cannot list its machines, the smolmachines bottles' state is "unknown"
// and the rest is listed, with one warning.
func (b *Bottles) List(ctx context.Context) ([]Bottle, error) {
	if b.Kube {
		bottles, err := listKube(ctx, b.R, b.Cluster)
		if err != nil {
			return nil, err
		}
		return b.withAgents(ctx, sorted(bottles)), nil
	}
	cs, err := findContainers(ctx, b.R, "")
	if err != nil {
		return nil, err
	}
	ns, err := findNetworks(ctx, b.R, "")
	if err != nil {
		return nil, err
	}
	bottles := map[string]*Bottle{}
	withSmolvm := b.Smolvm
	for _, r := range append(cs, ns...) {
		add(bottles, r)
		withSmolvm = withSmolvm || r.backend == Smolmachines
	}
	if !withSmolvm {
		return b.withAgents(ctx, sorted(bottles)), nil
	}
	ms, err := findMachines(ctx, b.R, "")
	if err != nil {
		b.Log.Warnf("the state of smolmachines bottles is unknown: %v", err)
		for _, bt := range bottles {
			if bt.Backend == Smolmachines {
				bt.State = "unknown"
			}
		}
	}
	for _, m := range ms {
		add(bottles, m)
	}
	return b.withAgents(ctx, sorted(bottles)), nil
}

// withAgents asks each running guest for its agent's state: one exec per
// running bottle, one after the other. A guest that does not answer is
// "unknown", with a warning; the rest is listed.
func (b *Bottles) withAgents(ctx context.Context, bottles []Bottle) []Bottle {
	for i, bt := range bottles {
		bottles[i].Agent = "unknown"
		if bt.State != "running" {
			continue
		}
		st, err := job.State(ctx, b.R, agentOf(bt.Name, bt.Backend, b.Cluster))
		if err != nil {
			b.Log.Warnf("bottle %s: %v", bt.Name, err)
			continue
		}
		bottles[i].Agent = st.String()
	}
	return bottles
}

// add adds what a resource tells of its bottle.
func add(bottles map[string]*Bottle, r resource) {
	bt, ok := bottles[r.bottle]
	if !ok {
		bt = &Bottle{Name: r.bottle, Backend: r.backend, State: "incomplete", Ports: []string{}}
		bottles[r.bottle] = bt
	}
	switch {
	case r.role == RoleBundle:
		bt.Created = r.created
		if r.ports != "" {
			bt.Ports = strings.Split(r.ports, ", ")
		}
	case r.role == RoleAgent:
		bt.State = r.state
	}
}

func sorted(m map[string]*Bottle) []Bottle {
	out := make([]Bottle, 0, len(m))
	for _, b := range m {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Stop removes the bottle's resources by ID: its machine (when Smolvm),
// agent, bundle, then networks. It waits for a launch of the name to
// return first. A bottle that is already gone is not an error. It returns
// what it removed.
func (b *Bottles) Stop(ctx context.Context, name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var locks Locks = NoLocks{}
	if b.Locks != nil {
		locks = b.Locks
	}
	unlock, err := locks.Lock(ctx, name, "stop", true)
	if err != nil {
		return nil, fmt.Errorf("stop %s: %w", name, err)
	}
	defer unlock()
	found, err := bottleResources(ctx, b.R, name, b.where())
	if err != nil {
		return nil, fmt.Errorf("stop %s: %w", name, err)
	}
	td := &teardown{r: b.R, serial: b.Serial}
	for i := len(found) - 1; i >= 0; i-- { // pushed last, removed first
		td.push(found[i].kind+" "+found[i].name, found[i])
	}
	undos := append([]*undo(nil), td.steps...)
	left, err := td.run(ctx)
	var removed []string
	for i := len(undos) - 1; i >= 0; i-- {
		if !slices.Contains(left, undos[i]) {
			removed = append(removed, undos[i].what)
		}
	}
	if err != nil {
		return removed, fmt.Errorf("stop %s: %w", name, err)
	}
	return removed, nil
}

package launch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// A kubernetes bottle is its namespace: found by its labels, and ours only
// when its name is the one the launch gives it (the prefix and the
// bottle's name), like every other resource (resource.ours).

// kubeObject is what ls and stop read of a namespace or a Pod.
type kubeObject struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Labels            map[string]string `json:"labels"`
		CreationTimestamp string            `json:"creationTimestamp"`
	} `json:"metadata"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

func (o kubeObject) resource(c kube.Cluster) resource {
	m := o.Metadata
	return resource{kind: kindNamespace, id: m.Name, name: m.Name, bottle: m.Labels[LabelName],
		role: m.Labels[LabelRole], backend: m.Labels[LabelBackend], created: m.CreationTimestamp, cluster: c}
}

// findNamespace is bottle's namespace, when it exists and is the bottle's
// (a namespace of that name that is not is refused: it is someone else's).
func findNamespace(ctx context.Context, r shell.Runner, c kube.Cluster, bottle string) ([]resource, error) {
	ns := c.Namespace(bottle)
	out, err := shell.Output(ctx, r, c.Kubectl("", "get", "namespace", ns, "--ignore-not-found", "--output=json")...)
	if err != nil || out == "" {
		return nil, err
	}
	var o kubeObject
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		return nil, fmt.Errorf("kubectl get namespace %s printed %.200q: %v", ns, out, err)
	}
	res := o.resource(c)
	if !res.ours() || res.role != kube.RoleNamespace {
		return nil, fmt.Errorf("the namespace %s exists and is not bottle %s's (labels %s=%q, %s=%q): pick another --name or --namespace-prefix",
			ns, bottle, LabelName, res.bottle, LabelRole, res.role)
	}
	return []resource{res}, nil
}

// listKube lists the cluster's bottles: their namespaces, and each agent
// Pod's phase as the bottle's state. Two commands, whatever the count.
func listKube(ctx context.Context, r shell.Runner, c kube.Cluster) (map[string]*Bottle, error) {
	sel := "--selector=" + LabelBackend + "=" + Kubernetes
	var nss, pods struct {
		Items []kubeObject `json:"items"`
	}
	if err := getJSON(ctx, r, &nss, c.Kubectl("", "get", "namespaces", sel, "--output=json")); err != nil {
		return nil, err
	}
	if err := getJSON(ctx, r, &pods, c.Kubectl("", "get", "pods", "--all-namespaces", sel+","+LabelRole+"="+kube.RoleAgent, "--output=json")); err != nil {
		return nil, err
	}
	bottles := map[string]*Bottle{}
	for _, o := range nss.Items {
		res := o.resource(c)
		if !res.ours() || res.role != kube.RoleNamespace {
			continue
		}
		bottles[res.name] = &Bottle{Name: res.bottle, Backend: Kubernetes, State: "incomplete", Created: res.created, Ports: []string{}}
	}
	for _, o := range pods.Items {
		bt, ok := bottles[o.Metadata.Namespace]
		if !ok || o.Metadata.Name != kube.AgentPod || o.Metadata.Labels[LabelName] != bt.Name {
			continue
		}
		bt.State = podState(o.Status.Phase)
	}
	return bottles, nil
}

// podState says a Pod's phase in the words ls uses for containers.
func podState(phase string) string {
	switch phase {
	case "Running":
		return "running"
	case "Pending":
		return "created"
	case "Succeeded", "Failed":
		return "exited"
	}
	return "unknown"
}

func getJSON(ctx context.Context, r shell.Runner, v any, argv []string) error {
	out, err := shell.Output(ctx, r, argv...)
	if err != nil || out == "" { // "": a dry-run
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("%s printed %.200q: %v", shell.Join(argv), out, err)
	}
	return nil
}

// agentOf is how the job loop reaches the agent of bottle name on backend.
func agentOf(name, backend string, c kube.Cluster) job.Bottle {
	if backend == Kubernetes {
		return job.Bottle{Name: name, Backend: Kubernetes, Agent: kube.AgentPod, Cluster: c, Namespace: c.Namespace(name)}
	}
	return job.Bottle{Name: name, Backend: backend, Agent: bundle.AgentName(name)}
}

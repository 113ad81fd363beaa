package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// podMeta is what the job loop reads of a bottle's Pod: its labels, and the
// agent's annotations (what the launch recorded: repository and base).
type podMeta struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// getPod reads a Pod's metadata (zero when kubectl printed nothing: a
// dry-run); ErrUnknownBottle when there is no such Pod or namespace.
func getPod(ctx context.Context, r shell.Runner, c kube.Cluster, ns, pod string) (podMeta, error) {
	out, err := shell.Output(ctx, r, c.Kubectl(ns, "get", "pod", pod, "--output=json")...)
	var se *shell.Error
	if errors.As(err, &se) && strings.Contains(se.Stderr, "(NotFound)") {
		return podMeta{}, ErrUnknownBottle
	}
	if err != nil || out == "" {
		return podMeta{}, err
	}
	var obj struct {
		Metadata podMeta `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return podMeta{}, fmt.Errorf("kubectl get pod %s printed %.200q: %v", pod, out, err)
	}
	m := obj.Metadata
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	return m, nil
}

// locatePod reads the agent Pod of bottle name on cluster c.
func locatePod(ctx context.Context, r shell.Runner, name string, c kube.Cluster) (Bottle, error) {
	if err := c.Check(name); err != nil {
		return Bottle{}, err
	}
	ns := c.Namespace(name)
	m, err := getPod(ctx, r, c, ns, kube.AgentPod)
	if errors.Is(err, ErrUnknownBottle) {
		return Bottle{}, err
	}
	if err != nil {
		return Bottle{}, fmt.Errorf("find bottle %s: %w", name, err)
	}
	if m.Labels != nil && (m.Labels[labelName] != name || m.Labels[labelRole] != "agent") {
		return Bottle{}, fmt.Errorf("find bottle %s: the pod %s/%s is not its agent (labels %s=%q, %s=%q)",
			name, ns, kube.AgentPod, labelName, m.Labels[labelName], labelRole, m.Labels[labelRole])
	}
	b, err := bottleFrom(name, Kubernetes, kube.AgentPod, m.Annotations)
	b.Cluster, b.Namespace = c, ns
	return b, err
}

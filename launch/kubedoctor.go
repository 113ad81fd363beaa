package launch

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/claude-bottle/claude-bottle/shell"
)

// kubeRights are what a launch, the job loop and stop do on a cluster
// (kubectl auth can-i VERB RESOURCE [--subresource]).
var kubeRights = [][]string{
	{"create", "namespaces"},
	{"delete", "namespaces"},
	{"create", "pods"},
	{"create", "pods", "--subresource=exec"}, // provisioning, the agent's session, fetch, supervise
	{"create", "services"},
	{"create", "secrets"},
	{"create", "networkpolicies.networking.k8s.io"},
}

// kubeDoctor: kubectl, the context's API server, the rights a bottle
// needs, and a warning that a NetworkPolicy is only as good as the network
// plugin that enforces it. The images are the cluster's to pull: not
// checked here.
func kubeDoctor(ctx context.Context, r shell.Runner, env DoctorEnv) []Check {
	c := env.Cluster
	var checks []Check
	add := func(ch Check) { checks = append(checks, ch) }
	client, err := shell.Output(ctx, r, c.Kubectl("", "version", "--client", "--output=json")...)
	add(Check{What: "kubectl", OK: err == nil, Detail: orErr(gitVersion(client, "clientVersion"), err), Needed: true,
		Fix: "install kubectl (kubernetes.io/docs/tasks/tools) and put it on PATH"})
	ctxName := c.Context
	if ctxName == "" {
		ctxName = "kubectl's current context"
	}
	server, err := shell.Output(ctx, r, c.Kubectl("", "version", "--output=json")...)
	add(Check{What: "cluster (" + ctxName + ")", OK: err == nil, Detail: orErr("API server "+gitVersion(server, "serverVersion"), err), Needed: true,
		Fix: "check the context (kubectl config get-contexts, --kube-context) and that its API server answers"})
	if err != nil {
		return append(checks, kubeEgress(env)...)
	}
	for _, right := range kubeRights {
		out, err := shell.Output(ctx, r, c.Kubectl("", append([]string{"auth", "can-i"}, right...)...)...)
		ok := err == nil && out == "yes"
		detail := "yes"
		if !ok {
			detail = orErr("no", err)
			if out == "no" {
				detail = "no"
			}
		}
		add(Check{What: "may " + strings.Join(right, " "), OK: ok, Detail: detail, Needed: true,
			Fix: "ask the cluster's admin for a role that grants it (README: Kubernetes)"})
	}
	add(Check{What: "NetworkPolicy enforcement", OK: false, Needed: false,
		Detail: "claude-bottle cannot see the network plugin: a NetworkPolicy is only created, not enforced, without one that implements it",
		Fix:    "run a plugin that enforces NetworkPolicy (Calico, Cilium, kube-router's firewall, …); without it the agent can go around the bundle"})
	add(Check{What: "images", OK: true, Needed: false,
		Detail: "pulled by the cluster's nodes (--image-pull-policy " + DefaultPullPolicy + " by default): push " + env.AgentImage + " and " + env.BundleImage + " where they pull from"})
	return append(checks, kubeEgress(env)...)
}

func kubeEgress(env DoctorEnv) []Check {
	if env.Getenv == nil {
		return nil
	}
	return []Check{egressCheck(env.Getenv)}
}

// gitVersion reads key.gitVersion of `kubectl version --output=json`.
func gitVersion(out, key string) string {
	type info struct {
		GitVersion string `json:"gitVersion"`
	}
	var v struct { // kubectl's pkg/cmd/version: also kustomizeVersion, a string
		ClientVersion info `json:"clientVersion"`
		ServerVersion info `json:"serverVersion"`
	}
	if json.Unmarshal([]byte(out), &v) != nil {
		return "present"
	}
	got := v.ClientVersion.GitVersion
	if key == "serverVersion" {
		got = v.ServerVersion.GitVersion
	}
	if got == "" {
		return "present"
	}
	return got
}

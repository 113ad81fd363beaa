// Package kube is the Kubernetes backend's vocabulary: where kubectl runs a
// bottle (a context and a namespace per bottle), the argv of each kubectl
// command the product uses, and the manifests of a bottle's objects.
package kube

import (
	"fmt"
	"regexp"

	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Cluster is where a bottle runs: kubectl's context ("" for its current
// one) and the prefix of the bottle's namespace.
type Cluster struct {
	Context string
	Prefix  string
}

// DefaultPrefix is --namespace-prefix's default.
const DefaultPrefix = "claude-bottle-"

// The objects of a bottle, in its namespace. Their names are fixed: the
// namespace is the bottle's.
const (
	AgentPod       = "agent"  // the agent's Pod and its one container
	BundlePod      = "bundle" // the bundle's Pod and its one container
	BundleService  = "bundle" // the agent-facing ports of the bundle
	BundleFiles    = "bundle-files"
	BundleEnv      = "bundle-env"
	AgentEnv       = "agent-env"
	AgentPolicy    = "agent"
	BundlePolicy   = "bundle"
	FilesMount     = "/var/run/claude-bottle-files"
	FilesArchive   = "files.tar"
	AgentContainer = AgentPod
	BundleCont     = BundlePod
)

// dnsLabel is a namespace name (RFC 1123 label).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Namespace is the bottle's namespace.
func (c Cluster) Namespace(bottle string) string { return c.Prefix + bottle }

// Check refuses a bottle name or prefix that makes no namespace name: a
// label of at most 63 lower-case letters, digits and dashes.
func (c Cluster) Check(bottle string) error {
	ns := c.Namespace(bottle)
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return fmt.Errorf("namespace %q (--namespace-prefix %q and bottle %q) is not a Kubernetes namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit", ns, c.Prefix, bottle)
	}
	return nil
}

// Kubectl is `kubectl [--context C] [--namespace NS] args…`; ns "" for a
// command on the cluster (namespaces, permissions).
func (c Cluster) Kubectl(ns string, args ...string) []string {
	a := []string{"kubectl"}
	if c.Context != "" {
		a = append(a, "--context", c.Context)
	}
	if ns != "" {
		a = append(a, "--namespace", ns)
	}
	return append(a, args...)
}

// Exec runs argv in pod's one container (named as the pod): stdin forwards
// claude-bottle's stdin, tty allocates a terminal.
func (c Cluster) Exec(ns, pod string, stdin, tty bool, argv []string) []string {
	a := c.Kubectl(ns, "exec")
	if stdin {
		a = append(a, "-i")
	}
	if tty {
		a = append(a, "-t")
	}
	a = append(a, pod, "--container", pod, "--")
	return append(a, argv...)
}

// Guest is the agent's Pod of namespace ns, reached with kubectl exec.
func (c Cluster) Guest(r shell.Runner, ns string) provision.Guest {
	return provision.ExecGuest(r, func(stdin, tty bool, argv []string) []string {
		return c.Exec(ns, AgentPod, stdin, tty, argv)
	})
}

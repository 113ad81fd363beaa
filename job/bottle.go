package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Backends (launch.Docker, launch.Smolmachines: launch imports job, not
// the other way round).
const (
	Docker       = "docker"
	Smolmachines = "smolmachines"
	Kubernetes   = "kubernetes"
)

// Where is where a command looks for a bottle: the backend the user named
// (--backend), whether smolvm machines count too (it is installed), and
// for kubernetes the cluster (--kube-context, --namespace-prefix).
type Where struct {
	Backend string
	Smolvm  bool
	Cluster kube.Cluster
}

// Labels a launch puts on the agent's container or machine for the job
// loop: the host repository it started from (--cwd, absolute) and the
// commit it started from, the basis of every fetch.
const (
	LabelRepo = "claude-bottle.repo"
	LabelBase = "claude-bottle.base"
	// The launch's own labels (launch.LabelName, launch.LabelRole).
	labelName = "claude-bottle.name"
	labelRole = "claude-bottle.role"
)

// Record is what a launch records on the agent for fetch: the host
// repository (absolute) and the commit the guest started from ("" when
// there is none).
type Record struct{ Repo, Base string }

// LabelArgs are the --label flags recording repo and base on the agent
// (docker run and smolvm machine create spell them alike); none for a
// launch without a repository.
func (rec Record) LabelArgs() []string {
	var a []string
	for _, kv := range rec.pairs() {
		a = append(a, "--label", kv[0]+"="+kv[1])
	}
	return a
}

// Annotations are the same on a Pod (kubernetes): a path is no label value.
func (rec Record) Annotations() map[string]string {
	var m map[string]string
	for _, kv := range rec.pairs() {
		if m == nil {
			m = map[string]string{}
		}
		m[kv[0]] = kv[1]
	}
	return m
}

func (rec Record) pairs() [][2]string {
	var out [][2]string
	if rec.Repo != "" {
		out = append(out, [2]string{LabelRepo, rec.Repo})
	}
	if rec.Base != "" {
		out = append(out, [2]string{LabelBase, rec.Base})
	}
	return out
}

// RecordHead is the record of a launch with --cwd dir (absolute in a real
// run; a dry-run passes it as the user typed it): dir and its HEAD commit
// (`git rev-parse`, through the runner; none when HEAD has no commit yet,
// or in a dry-run).
func RecordHead(ctx context.Context, r shell.Runner, dir string) (Record, error) {
	base, err := shell.Output(ctx, r, "git", "-C", dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	var se *shell.Error
	if shell.ExitCode(err) == 1 && errors.As(err, &se) && strings.TrimSpace(se.Stderr) == "" {
		base, err = "", nil // an unborn HEAD: --quiet fails with status 1 and says nothing
	}
	if err != nil {
		return Record{}, fmt.Errorf("record the repository's HEAD: %w", err)
	}
	return Record{Repo: dir, Base: base}, nil
}

// ErrUnknownBottle: no agent container or machine has the bottle's name.
var ErrUnknownBottle = errors.New("no such bottle")

// UnknownBottleError is ErrUnknownBottle with the one message every command
// gives for it.
type UnknownBottleError struct{ Name string }

func (e *UnknownBottleError) Error() string {
	return "no bottle named " + e.Name + " (see claude-bottle ls)"
}

func (e *UnknownBottleError) Is(target error) bool { return target == ErrUnknownBottle }

// BundleRef is a bottle's bundle, found: how to run a command in it and
// read its log.
type BundleRef struct {
	Name    string
	Backend string
	// Cluster and Namespace: kubernetes only.
	Cluster   kube.Cluster
	Namespace string
}

// ExecArgv runs argv in the bundle as its root (the operator's commands);
// stdin attaches claude-bottle's stdin.
func (b BundleRef) ExecArgv(stdin bool, argv ...string) []string {
	if b.Backend == Kubernetes {
		return b.Cluster.Exec(b.Namespace, kube.BundlePod, stdin, false, argv)
	}
	a := []string{"docker", "exec"}
	if stdin {
		a = append(a, "-i")
	}
	return append(append(a, bundle.ContainerName(b.Name)), argv...)
}

// LogsArgv prints the bundle's log (its daemons' output); follow keeps
// printing.
func (b BundleRef) LogsArgv(follow bool) []string {
	var a []string
	if b.Backend == Kubernetes {
		a = b.Cluster.Kubectl(b.Namespace, "logs", "--container="+kube.BundleCont)
	} else {
		a = []string{"docker", "logs"}
	}
	if follow {
		a = append(a, "--follow")
	}
	if b.Backend == Kubernetes {
		return append(a, "pod/"+kube.BundlePod)
	}
	return append(a, bundle.ContainerName(b.Name))
}

// LocateBundle checks that bottle name has its bundle (logs and the
// operator's supervise commands run in it): one `docker inspect`, or one
// `kubectl get pod`, whose labels must be the bottle's bundle's. An answer
// with no output (the dry-run's) is taken as the bundle.
func LocateBundle(ctx context.Context, r shell.Runner, name string, w Where) (BundleRef, error) {
	ref := BundleRef{Name: name, Backend: Docker}
	if err := bundle.ValidateName(name); err != nil {
		return ref, err
	}
	what := "container " + bundle.ContainerName(name)
	var labels map[string]string
	var err error
	if w.Backend == Kubernetes {
		ref.Backend, ref.Cluster, ref.Namespace = Kubernetes, w.Cluster, w.Cluster.Namespace(name)
		what = "pod " + ref.Namespace + "/" + kube.BundlePod
		var meta podMeta
		meta, err = getPod(ctx, r, w.Cluster, ref.Namespace, kube.BundlePod)
		labels = meta.Labels
	} else {
		labels, err = containerLabels(ctx, r, bundle.ContainerName(name))
	}
	switch {
	case errors.Is(err, ErrUnknownBottle):
		return ref, &UnknownBottleError{Name: name}
	case err != nil:
		return ref, fmt.Errorf("find bottle %s: %w", name, err)
	case labels != nil && (labels[labelName] != name || labels[labelRole] != "bundle"):
		return ref, fmt.Errorf("find bottle %s: the %s is not its bundle (labels %s=%q, %s=%q)",
			name, what, labelName, labels[labelName], labelRole, labels[labelRole])
	}
	return ref, nil
}

// ErrNoRepository: the bottle records no host repository and none was given.
var ErrNoRepository = errors.New("no host repository")

// Bottle is a bottle's agent as the job loop reaches it.
type Bottle struct {
	Name    string
	Backend string
	// Agent is the container (docker), machine (smolmachines) or Pod
	// (kubernetes).
	Agent string
	// Cluster and Namespace: kubernetes only.
	Cluster   kube.Cluster
	Namespace string
	// Repo and Base are what the launch recorded ("" when it did not).
	Repo, Base string
}

// execArgv runs argv in the guest as the agent user, with its stdout
// streamed to the host.
func (b Bottle) execArgv(argv []string) []string {
	if b.Backend == Kubernetes {
		// kubectl exec streams; it has no --user (runuser, as on smolvm).
		return b.Cluster.Exec(b.Namespace, b.Agent, false, false, append([]string{"runuser", "-u", provision.Agent.Name, "--"}, argv...))
	}
	if b.Backend == Smolmachines {
		a := []string{"smolvm", "machine", "exec", "--name", b.Agent,
			"--stream", // without it smolvm buffers the output and cuts it at 11 MiB, silently
			"--",
			"runuser", "-u", provision.Agent.Name, "--", // exec has no --user (smolvm 1.9)
		}
		return append(a, argv...)
	}
	return append([]string{"docker", "exec", "-u", provision.Agent.Name, b.Agent}, argv...)
}

// Locate finds bottle name's agent: on kubernetes in its namespace alone;
// otherwise on the backend first, then on the other (smolvm only when
// w.Smolvm, as for stop). An answer with no output (the dry-run's) is
// taken as the bottle, with nothing recorded.
func Locate(ctx context.Context, r shell.Runner, name string, w Where) (Bottle, error) {
	if err := bundle.ValidateName(name); err != nil {
		return Bottle{}, err
	}
	if w.Backend == Kubernetes {
		b, err := locatePod(ctx, r, name, w.Cluster)
		if errors.Is(err, ErrUnknownBottle) {
			return Bottle{}, &UnknownBottleError{Name: name}
		}
		return b, err
	}
	order := []func(context.Context, shell.Runner, string) (Bottle, error){locateContainer}
	if w.Smolvm || w.Backend == Smolmachines {
		order = append(order, locateMachine)
	}
	if w.Backend == Smolmachines {
		order[0], order[len(order)-1] = order[len(order)-1], order[0]
	}
	for _, find := range order {
		b, err := find(ctx, r, name)
		if !errors.Is(err, ErrUnknownBottle) {
			return b, err
		}
	}
	return Bottle{}, &UnknownBottleError{Name: name}
}

// locateContainer reads the agent container's labels.
func locateContainer(ctx context.Context, r shell.Runner, name string) (Bottle, error) {
	agent := bundle.AgentName(name)
	labels, err := containerLabels(ctx, r, agent)
	if errors.Is(err, ErrUnknownBottle) {
		return Bottle{}, err
	}
	if err != nil {
		return Bottle{}, fmt.Errorf("find bottle %s: %w", name, err)
	}
	if labels != nil && (labels[labelName] != name || labels[labelRole] != "agent") {
		return Bottle{}, fmt.Errorf("find bottle %s: the container %s is not its agent (labels %s=%q, %s=%q)",
			name, agent, labelName, labels[labelName], labelRole, labels[labelRole])
	}
	return bottleFrom(name, Docker, agent, labels)
}

// containerLabels are a container's labels (nil when docker printed
// nothing: a dry-run), ErrUnknownBottle when there is no such container.
func containerLabels(ctx context.Context, r shell.Runner, container string) (map[string]string, error) {
	out, err := shell.Output(ctx, r, "docker", "inspect", "--type", "container", "--format", "{{json .Config.Labels}}", container)
	var se *shell.Error
	if errors.As(err, &se) && strings.Contains(se.Stderr, "No such") {
		return nil, ErrUnknownBottle
	}
	if err != nil || out == "" {
		return nil, err
	}
	var labels map[string]string
	if err := json.Unmarshal([]byte(out), &labels); err != nil {
		return nil, fmt.Errorf("docker inspect printed %q: %v", out, err)
	}
	return labels, nil
}

// locateMachine finds the agent machine in `smolvm machine ls --json`.
func locateMachine(ctx context.Context, r shell.Runner, name string) (Bottle, error) {
	agent := bundle.AgentName(name)
	ms, err := ListMachines(ctx, r)
	if err != nil {
		return Bottle{}, fmt.Errorf("find bottle %s: %w", name, err)
	}
	if ms == nil { // a dry-run's answer: the bottle, with nothing recorded
		return bottleFrom(name, Smolmachines, agent, nil)
	}
	for _, m := range ms {
		if m.Name == agent && m.Labels[labelName] == name {
			return bottleFrom(name, Smolmachines, agent, m.Labels)
		}
	}
	return Bottle{}, ErrUnknownBottle
}

// bottleFrom checks what the launch recorded: the repository must be an
// absolute path, the base an object id.
func bottleFrom(name, backend, agent string, labels map[string]string) (Bottle, error) {
	b := Bottle{Name: name, Backend: backend, Agent: agent, Repo: labels[LabelRepo], Base: labels[LabelBase]}
	if b.Repo != "" && !filepath.IsAbs(b.Repo) {
		return Bottle{}, fmt.Errorf("bottle %s: label %s=%q is not an absolute path", name, LabelRepo, b.Repo)
	}
	if b.Base != "" && !sha1RE.MatchString(b.Base) && !sha256RE.MatchString(b.Base) {
		return Bottle{}, fmt.Errorf("bottle %s: label %s=%q is not an object id", name, LabelBase, b.Base)
	}
	return b, nil
}

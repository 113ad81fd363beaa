package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// teardown removes what a launch created, newest first, by ID. Each
// resource is pushed before the command that creates it runs, since a
// failed create (docker run after the container exists, smolvm start after
// create) can still leave it behind.
type teardown struct {
	r shell.Runner
	// serial removes one resource at a time; otherwise the guest and the
	// bundle go at once (removal), networks after them.
	serial bool
	mu     sync.Mutex // push and pop come from steps running at once
	steps  []*undo
}

// undo is one resource to remove.
type undo struct {
	what string   // "bundle claude-bottle-x-bundle"
	res  resource // its id is "" until the command creating it prints it
}

// describe names the resource and, once known, its ID (short, as docker ps shows it).
func (u *undo) describe() string {
	if u.res.kind == kindMachine || len(u.res.id) < 12 {
		return u.what
	}
	return u.what + " (ID " + u.res.id[:12] + ")"
}

func (t *teardown) push(what string, res resource) *undo {
	u := &undo{what: what, res: res}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, u)
	return u
}

// forget drops u: its create found the name taken.
func (t *teardown) forget(u *undo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, v := range t.steps {
		if v == u {
			t.steps = append(t.steps[:i], t.steps[i+1:]...)
			return
		}
	}
}

// run removes everything, newest first, and returns what is left. A failing
// removal is reported and the rest still run; a resource that is already
// gone is not a failure. Once ctx ends (the timeout, a second signal) no
// more commands run: everything not yet removed is left. Unless serial,
// the resources between two networks are removed at once (a guest and
// its bundle do not wait for each other; a network waits for its
// containers).
func (t *teardown) run(ctx context.Context) ([]*undo, error) {
	var errs []error
	var left []*undo
	for _, batch := range t.batches() {
		failed := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, u := range batch {
			if ctx.Err() != nil {
				failed[i] = ctx.Err()
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); failed[i] = t.remove(ctx, u) }()
			if t.serial {
				wg.Wait()
			}
		}
		wg.Wait()
		for i, err := range failed {
			if err == nil {
				continue
			}
			left = append(left, batch[i])
			if ctx.Err() == nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", batch[i].what, err))
			}
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, context.Cause(ctx))
	}
	t.steps = nil
	return left, errors.Join(errs...)
}

// batches are the resources newest first, in the groups run removes at
// once: one each when serial.
func (t *teardown) batches() [][]*undo {
	var out [][]*undo
	for i := len(t.steps) - 1; i >= 0; i-- {
		u := t.steps[i]
		n := len(out)
		if t.serial || n == 0 || u.res.kind == kindNetwork || out[n-1][0].res.kind == kindNetwork {
			out = append(out, []*undo{u})
			continue
		}
		out[n-1] = append(out[n-1], u)
	}
	return out
}

// remove removes one resource by its ID. When its create printed none (it
// failed or was cancelled, perhaps after creating it), the resource is
// looked up by its labels and name: under the bottle's lock, and with the
// name found free before anything was created, what matches is this
// launch's.
func (t *teardown) remove(ctx context.Context, u *undo) error {
	targets := []resource{u.res}
	if u.res.id == "" {
		found, err := t.lookUp(ctx, u.res)
		if err != nil {
			return fmt.Errorf("find it: %w", err)
		}
		targets = found
	}
	for _, r := range targets {
		if err := shell.Run(ctx, t.r, r.removeArgv()...); err != nil && !isGone(err) {
			return err
		}
	}
	return nil
}

// lookUp finds the bottle's resources of want's kind and role.
func (t *teardown) lookUp(ctx context.Context, want resource) ([]resource, error) {
	find := findContainers
	if want.kind == kindNetwork {
		find = findNetworks
	}
	found, err := find(ctx, t.r, want.bottle)
	return withRole(found, want.role), err
}

// TeardownError is a teardown that left something behind.
type TeardownError struct {
	// StopCommand removes what is left.
	StopCommand string
	// Left is each resource left behind.
	Left []string
	Err  error
}

func (e *TeardownError) Error() string {
	var b strings.Builder
	b.WriteString("teardown: " + e.Err.Error())
	if len(e.Left) > 0 {
		b.WriteString("\nleft behind:")
		for _, l := range e.Left {
			b.WriteString("\n  " + l)
		}
		b.WriteString("\nremove it with: " + e.StopCommand)
	}
	return b.String()
}

func (e *TeardownError) Unwrap() error { return e.Err }

// StopCommand is the command that removes a bottle.
func StopCommand(bottle string, w job.Where) string {
	return "claude-bottle " + GlobalFlags(w) + "stop " + bottle
}

// GlobalFlags are the flags that make a later command look where the
// bottle is ("" on docker), each followed by a space.
func GlobalFlags(w job.Where) string {
	switch w.Backend {
	case Smolmachines:
		return "--backend smolmachines "
	case Kubernetes:
		f := "--backend kubernetes "
		if w.Cluster.Context != "" {
			f += "--kube-context " + shell.Quote(w.Cluster.Context) + " "
		}
		if w.Cluster.Prefix != kube.DefaultPrefix {
			f += "--namespace-prefix " + shell.Quote(w.Cluster.Prefix) + " "
		}
		return f
	}
	return ""
}

// where is where the plan's bottle is.
func (p *Plan) where() job.Where {
	return job.Where{Backend: p.Backend, Smolvm: p.Backend == Smolmachines, Cluster: p.Cluster}
}

func (p *Plan) stopCommand() string { return StopCommand(p.Bottle, p.where()) }

// isConflict classifies "that name is taken" answers of docker and smolvm:
// the resource belongs to someone else and must not be removed.
func isConflict(err error) bool {
	var e *shell.Error
	if !errors.As(err, &e) {
		return false
	}
	s := e.Stderr
	return strings.Contains(s, "is already in use") || strings.Contains(s, "already exists")
}

// isGone classifies "it does not exist" answers of docker and smolvm, the
// one place that reads their English.
func isGone(err error) bool {
	var e *shell.Error
	if !errors.As(err, &e) {
		return false
	}
	s := e.Stderr
	return strings.Contains(s, "No such container") || strings.Contains(s, "No such network") ||
		strings.Contains(s, "vm not found") || (strings.Contains(s, "network") && strings.Contains(s, "not found"))
}

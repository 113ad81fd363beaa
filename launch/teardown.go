package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/shell"
)

// teardown removes what a launch created, newest first. Each resource is
// pushed before the command that creates it runs, since a failed create
// (docker run after the container exists, smolvm start after create) can
// still leave it behind.
type teardown struct {
	r     shell.Runner
	steps []undo
}

type undo struct {
	what string
	argv []string
}

func (t *teardown) push(what string, argv ...string) {
	t.steps = append(t.steps, undo{what: what, argv: argv})
}

// pop forgets the newest resource: its create found the name taken.
func (t *teardown) pop() { t.steps = t.steps[:len(t.steps)-1] }

// run removes everything, newest first. A failing removal is reported and
// the rest still run; a resource that is already gone is not a failure.
func (t *teardown) run(ctx context.Context) error {
	var errs []error
	for i := len(t.steps) - 1; i >= 0; i-- {
		u := t.steps[i]
		if err := shell.Run(ctx, t.r, u.argv...); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("remove %s: %w", u.what, err))
		}
	}
	t.steps = nil
	return errors.Join(errs...)
}

// isConflict classifies "that name is taken" answers of docker and smolvm:
// the resource belongs to someone else (another bottle of the same name) and
// must not be removed.
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

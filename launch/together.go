package launch

import (
	"context"
	"errors"
	"sync"
)

// alongside is the dry-run's note on the first command of a step that runs
// at the same time as the bundle's (together): the transcript lists them
// one after the other.
const alongside = "from here at the same time as the bundle's commands above (from docker create on): neither waits for the other"

// errSibling cancels the other steps of a together when one fails.
var errSibling = errors.New("a step running alongside failed")

// together runs fns at once and returns the first failure; that failure
// cancels the others (their commands get SIGTERM, what they created is in
// the teardown already). Serial, and a dry-run, run them one after the
// other in their order instead, stopping at the first failure: the same
// commands, in one order every time.
func (s *session) together(ctx context.Context, fns ...func(context.Context) error) error {
	if s.serial(s.p) {
		for _, fn := range fns {
			if err := fn(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err; cancel(errSibling) })
			}
		}()
	}
	wg.Wait()
	return first
}

// serial reports whether the launch's independent steps run one after the
// other.
func (l *Launcher) serial(p *Plan) bool { return l.Serial || p.DryRun }

// Package job is the agent's job loop seen from the host: the work comes
// home (fetch) as refs of the host repository, from a guest that is not
// trusted with anything.
package job

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/display"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Options are a fetch's settings.
type Options struct {
	// Repo is the host repository; "" takes the one the bottle recorded.
	Repo string
	// MaxSize caps the bundle the guest sends (0: DefaultMaxSize).
	MaxSize int64
	// Timeout bounds the guest's command (0: none).
	Timeout time.Duration
	// Prune removes the tracking branches the guest no longer has (they
	// are kept otherwise; the snapshot always follows the guest).
	Prune  bool
	DryRun bool
}

// Result is what a fetch did.
type Result struct {
	Repo string
	// Updates are the refs set or removed under TrackingPrefix.
	Updates []Update
	// Kept are tracking refs the guest no longer has, left in place.
	Kept []string
	// Skipped are refs of the guest's that were refused.
	Skipped []Skipped
	// Received is how many bytes the guest sent.
	Received int64
	// NoRepository: the guest's workspace holds no repository.
	NoRepository bool
}

// Update is one ref of the host repository: Old "" is a creation, New "" a removal.
type Update struct {
	Ref, Old, New string
}

// Skipped is a ref of the guest's bundle that was refused, and why.
type Skipped struct {
	Name, Reason string
}

// Fetch brings the work in bottle b's guest into the host repository: each
// guest branch B as TrackingPrefix(b.Name)+B and the uncommitted snapshot
// as …/uncommitted. It never touches anything else of the host
// repository (no branch, HEAD, index, work tree, config or remote).
//
// One command runs in the guest (guestScript); its bundle is taken into a
// temporary file, at most MaxSize bytes. On the host: the header is parsed
// and each ref checked here, the prerequisites must be commits the host
// has, the pack goes through `git index-pack --strict`, the tips must then
// be commits, and the refs move in one `git update-ref --stdin`
// transaction. Only object ids, checked ref names and checked objects
// cross: no config, hook, attribute or filter of the guest's can run on
// the host.
func Fetch(ctx context.Context, r shell.Runner, b Bottle, o Options) (*Result, error) {
	repo := o.Repo
	if repo == "" {
		repo = b.Repo
	}
	if repo == "" {
		return nil, fmt.Errorf("%w: bottle %s was launched without --cwd; name one with --repo DIR", ErrNoRepository, b.Name)
	}
	if !o.DryRun { // a dry-run prints the path as given: the same for the same inputs
		abs, err := filepath.Abs(repo)
		if err != nil {
			return nil, fmt.Errorf("--repo: %w", err)
		}
		repo = abs
	}
	h := hostRepo{r: r, dir: repo}
	prefix := TrackingPrefix(b.Name)
	tracked, heads, err := h.refs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	got, err := receive(ctx, r, b, haves(b.Base, tracked, heads), o)
	if got != nil {
		defer got.Close()
	}
	res := &Result{Repo: repo}
	if errors.Is(err, errNoGuestRepository) {
		res.NoRepository = true
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.Received = got.n
	if got.n == 0 {
		if o.DryRun {
			return res, dryRunHost(ctx, h, b.Name)
		}
		return res, nil // the guest sent nothing: nothing new
	}
	if err := store(ctx, h, b.Name, got, tracked, o.Prune, res); err != nil {
		return nil, err
	}
	return res, nil
}

// store checks the received bundle and sets the refs it names.
func store(ctx context.Context, h hostRepo, bottle string, got *capture, tracked map[string]string, prune bool, res *Result) error {
	hdr, err := ReadHeader(got.section(0))
	if err != nil {
		return fmt.Errorf("the guest's bundle: %w", err)
	}
	p := planRefs(hdr.Refs, tracked, TrackingPrefix(bottle), prune)
	res.Skipped, res.Kept = p.skipped, p.kept
	if len(p.updates)+len(p.deletes) == 0 {
		return nil
	}
	if len(hdr.Prerequisites) > 0 {
		if err := h.checkCommits(ctx, hdr.Prerequisites, "the bundle's prerequisites"); err != nil {
			return fmt.Errorf("the guest's bundle needs what the host lacks (launched from another repository? see --repo): %w", err)
		}
	}
	pack := got.section(hdr.Size)
	ph, err := ReadPackHeader(pack)
	if err != nil {
		return fmt.Errorf("the guest's bundle: %w", err)
	}
	if ph.Objects > 0 {
		note := fmt.Sprintf("the guest's pack (%d objects, %d bytes)", ph.Objects, pack.Size())
		if err := h.indexPack(ctx, got.section(hdr.Size), note); err != nil {
			return err
		}
	}
	var tips []string
	for _, u := range p.updates {
		tips = append(tips, u.New)
	}
	if len(tips) > 0 {
		if err := h.checkCommits(ctx, tips, "the tips of the guest's refs"); err != nil {
			return fmt.Errorf("the guest's bundle: %w", err)
		}
	}
	if err := p.apply(ctx, h, bottle); err != nil {
		return err
	}
	res.Updates = append(p.deletes, p.updates...)
	return nil
}

// haves are the commits offered to the guest as ones the host has: the
// launch's base, what the last fetch brought, the host's recent branches.
func haves(base string, tracked map[string]string, heads []string) []string {
	var out []string
	seen := map[string]bool{"": true}
	add := func(oid string) {
		if !seen[oid] {
			seen[oid] = true
			out = append(out, oid)
		}
	}
	add(base)
	for _, ref := range sortedKeys(tracked) {
		add(tracked[ref])
	}
	for _, oid := range heads {
		add(oid)
	}
	return out
}

// dryRunHost shows what a real fetch runs on the guest's bundle.
func dryRunHost(ctx context.Context, h hostRepo, bottle string) error {
	if err := h.checkCommits(ctx, nil, "the bundle's prerequisites"); err != nil {
		return err
	}
	if err := h.indexPack(ctx, nil, "the guest's pack, when it holds objects"); err != nil {
		return err
	}
	if err := h.checkCommits(ctx, nil, "the tips of the guest's refs"); err != nil {
		return err
	}
	prefix := TrackingPrefix(bottle)
	return h.updateRefs(ctx, bottle, nil, "create|update "+prefix+"BRANCH for each guest branch that passed the checks\n"+
		"create|update "+prefix+"uncommitted (the snapshot), or delete it when the guest has none\n"+
		"delete "+prefix+"BRANCH the guest no longer has, with --prune")
}

// GuestError is the guest's command failing: its stderr is the guest's,
// shown visibly.
type GuestError struct {
	Argv     []string
	ExitCode int
	Stderr   string
}

func (e *GuestError) Error() string {
	s := fmt.Sprintf("the guest's bundle: %s …: exit status %d", shell.Join(e.Argv), e.ExitCode)
	if e.Stderr != "" {
		s += ": " + display.Visible(e.Stderr)
	}
	return s
}

// errNoGuestRepository: guestScript found no repository in the workspace.
var errNoGuestRepository = errors.New("no repository in the guest's workspace")

// maxGuestStderr is how much of the guest's stderr an error shows (its end).
const maxGuestStderr = 2000

// receive runs guestScript in the guest and captures its stdout. The
// capture is returned, also with an error, for the caller to close.
func receive(ctx context.Context, r shell.Runner, b Bottle, have []string, o Options) (*capture, error) {
	max := o.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Timeout > 0 {
		gctx, cancel = context.WithTimeout(gctx, o.Timeout)
		defer cancel()
	}
	got, err := newCapture(max, cancel)
	if err != nil {
		return nil, err
	}
	argv := b.execArgv(guestArgv(have))
	err = r.Run(gctx, shell.Cmd{Argv: argv, Stdout: got,
		Note: []string{"stdout: a git bundle of the guest's branches and uncommitted snapshot, at most " + FormatSize(max)}})
	switch {
	case err == nil:
		return got, nil
	case ctx.Err() != nil:
		return got, ctx.Err()
	case got.over:
		return got, fmt.Errorf("the guest's bundle: more than %s (raise --max-size if the work is that large)", FormatSize(max))
	case errors.Is(gctx.Err(), context.DeadlineExceeded):
		return got, fmt.Errorf("the guest's bundle: not done after %s (--timeout)", o.Timeout)
	}
	var se *shell.Error
	if !errors.As(err, &se) {
		return got, fmt.Errorf("the guest's bundle: %w", err)
	}
	if se.ExitCode == exitNoRepository {
		return got, errNoGuestRepository
	}
	stderr := se.Stderr
	if len(stderr) > maxGuestStderr {
		stderr = "…" + stderr[len(stderr)-maxGuestStderr:]
	}
	return got, &GuestError{Argv: argv[:len(argv)-len(guestArgv(have))+2], ExitCode: se.ExitCode, Stderr: stderr}
}

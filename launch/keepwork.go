package launch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Never lost: before a teardown removes a guest the agent worked in, its
// work comes home (job.Fetch) into the repository the launch started from.
// When that fails the bottle stays, and the error says how to fetch again
// or to throw the work away on purpose (stop --discard).

// FetchTimeout bounds the fetch before a teardown (a signal's exit code
// stays whatever the fetch does).
const FetchTimeout = 2 * time.Minute

// WorkKeptError is a teardown skipped because the guest's work could not
// be brought home: everything of the bottle is left running.
type WorkKeptError struct {
	Bottle string
	Where  job.Where
	Err    error
}

func (e *WorkKeptError) Error() string {
	return fmt.Sprintf("bringing the agent's work home failed, so bottle %s was kept: %v; "+
		"retry with `claude-bottle %sfetch %s`, then stop it, or drop the work with `%s --discard`",
		e.Bottle, e.Err, GlobalFlags(e.Where), e.Bottle, StopCommand(e.Bottle, e.Where))
}

func (e *WorkKeptError) Unwrap() error { return e.Err }

// recordRepo labels the agent with the host repository and the commit the
// launch started from (job.LabelRepo, job.LabelBase), for fetch.
func (s *session) recordRepo(ctx context.Context) error {
	if s.p.RepoDir == "" {
		return nil
	}
	if r := s.p.Guest.Repo; r != nil && r.Worktree != nil {
		// The base the working tree was listed against: the commit the
		// guest starts from, with no command more.
		s.record = job.Record{Repo: s.p.RepoDir, Base: r.Worktree.Base}
		return nil
	}
	return s.step("record repository", func() error {
		var err error
		s.record, err = job.RecordHead(ctx, s.R, s.p.RepoDir)
		return err
	})
}

// keepWork fetches the guest's work before a teardown, in bounded time and
// with a context of its own (the launch's may be cancelled by a signal);
// a second signal (Abort) stops it. Nothing is fetched for a launch
// without a repository.
func (s *session) keepWork(ctx context.Context) error {
	if s.p.RepoDir == "" || !s.agentRan {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.Abort:
			cancel()
		case <-fctx.Done():
		}
	}()
	b := agentOf(s.p.Bottle, s.p.Backend, s.p.Cluster)
	b.Repo = s.p.RepoDir
	res, err := job.Fetch(fctx, s.R, b, job.Options{Timeout: FetchTimeout, DryRun: s.p.DryRun})
	if err != nil {
		return &WorkKeptError{Bottle: s.p.Bottle, Where: s.p.where(), Err: err}
	}
	s.reportFetch(res)
	return nil
}

// reportFetch logs what came home.
func (s *session) reportFetch(res *job.Result) {
	switch {
	case s.p.DryRun:
	case res.NoRepository || len(res.Updates) == 0:
		s.Log.Infof("the agent's work: nothing new to bring home")
	default:
		for _, u := range res.Updates {
			s.Log.Infof("the agent's work: %s", u)
		}
	}
}

// KeepWorkBeforeStop fetches a bottle's work before `stop` removes it
// (skipped by --discard): a bottle that records no repository has nothing
// to bring home; a failed fetch keeps the bottle.
func KeepWorkBeforeStop(ctx context.Context, r shell.Runner, name string, w job.Where, dryRun bool) (*job.Result, error) {
	b, err := job.Locate(ctx, r, name, w)
	if errors.Is(err, job.ErrUnknownBottle) {
		return nil, nil // no agent: nothing to bring home
	}
	if err != nil {
		return nil, &WorkKeptError{Bottle: name, Where: w, Err: err}
	}
	if b.Repo == "" {
		return nil, nil // launched without --cwd (or a dry-run's empty answer): no repository to bring work into
	}
	res, err := job.Fetch(ctx, r, b, job.Options{Timeout: FetchTimeout, DryRun: dryRun})
	if err != nil {
		w.Backend = b.Backend
		return nil, &WorkKeptError{Bottle: name, Where: w, Err: err}
	}
	return res, nil
}

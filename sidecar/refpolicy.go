package sidecar

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// fallbackDefaultBranches are protected as the default branch when the
// upstream never said which branch its HEAD names (an empty upstream, or a
// server that does not advertise symrefs): both usual names, rather than
// none.
var fallbackDefaultBranches = []string{"refs/heads/main", "refs/heads/master"}

// policyRefusals checks each update against u's ref policy (see
// bundle.Upstream) and returns one reason per refused update, or none. It
// runs in pre-receive, where the pushed objects are visible through the
// quarantine. An update it cannot check is an error: the push is refused.
func (g gate) policyRefusals(ctx context.Context, u bundle.Upstream, updates []refUpdate) ([]string, error) {
	defaults, err := g.defaultBranches(ctx, u)
	if err != nil {
		return nil, err
	}
	var refused []string
	for _, up := range updates {
		why, err := g.policyRefusal(ctx, u, defaults, up)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", up.ref, err)
		}
		if why != "" {
			refused = append(refused, up.ref+": "+why)
		}
	}
	return refused, nil
}

// policyRefusal is why the policy refuses up, or "". Other branches than
// the default one, and refs outside heads and tags, may be rewritten.
func (g gate) policyRefusal(ctx context.Context, u bundle.Upstream, defaults []string, up refUpdate) (string, error) {
	switch {
	case isZero(up.new):
		if u.AllowDelete {
			return "", nil
		}
		return "deleting a ref is refused (--upstream-policy " + u.Name + "=delete allows it)", nil
	case isZero(up.old) || u.AllowForce:
		return "", nil // a new ref, or anything goes
	case strings.HasPrefix(up.ref, "refs/tags/"):
		return "moving an existing tag is refused (--upstream-policy " + u.Name + "=force allows it)", nil
	case !slices.Contains(defaults, up.ref):
		return "", nil
	}
	ff, err := g.isAncestor(ctx, g.repoPath(u.Name), up.old, up.new)
	if err != nil || ff {
		return "", err
	}
	return "rewriting the default branch (not a fast-forward) is refused (--upstream-policy " + u.Name + "=force allows it)", nil
}

// defaultBranches are the refs protected as u's default branch: the one
// the mirror's HEAD names once a fetch set it from the upstream's, else
// the one the upstream's HEAD names now (a push before any fetch), else
// the fallbacks.
func (g gate) defaultBranches(ctx context.Context, u bundle.Upstream) ([]string, error) {
	repo := g.repoPath(u.Name)
	if out, _ := g.git(ctx, repo, nil, "config", "--get", headSetKey); strings.TrimSpace(string(out)) == "true" {
		out, err := g.git(ctx, repo, nil, "symbolic-ref", "HEAD")
		if err != nil {
			return nil, fmt.Errorf("read the default branch: %w", err)
		}
		return []string{strings.TrimSpace(string(out))}, nil
	}
	out, err := g.git(ctx, repo, g.upstreamEnv(u), "ls-remote", "--symref", "origin", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("ask the upstream for its default branch: %w", err)
	}
	if head := symrefHead(string(out)); head != "" {
		return []string{head}, nil
	}
	return fallbackDefaultBranches, nil
}

// isAncestor reports whether old is an ancestor of new, that is whether
// moving a ref from old to new is a fast-forward.
func (g gate) isAncestor(ctx context.Context, repo, old, new string) (bool, error) {
	_, err := g.git(ctx, repo, nil, "merge-base", "--is-ancestor", old, new)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, nil // git's answer "no"; other statuses are failures
	default:
		return false, fmt.Errorf("fast-forward check: %w", err)
	}
}

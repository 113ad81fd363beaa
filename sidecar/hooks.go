package sidecar

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// hookTimeout bounds a hook's talk with the upstream (a first mirror of a
// big repository takes a while).
const hookTimeout = 10 * time.Minute

// headSetKey marks a mirror whose HEAD was set from the upstream's.
const headSetKey = "claude-bottle.headset"

// access is git daemon's --access-hook: it allows receive-pack (pre-receive
// forwards the push) and, for upload-pack, refreshes the mirror from its
// upstream first, failing closed if the upstream cannot be reached. The
// returned error is the refusal the client sees.
func (g gate) access(ctx context.Context, service, repo string) error {
	u, err := g.upstreamFor(repo)
	if err != nil {
		return err
	}
	switch service {
	case "receive-pack":
		g.log.Infof("%s %s: allowed; pre-receive forwards it", service, u.Name)
		return nil
	case "upload-pack":
		return g.refresh(ctx, u)
	default:
		return fmt.Errorf("service %s is not allowed", service)
	}
}

// refresh fetches the mirror from its upstream under a lock (concurrent
// fetches into one repository fail) and sets HEAD from the upstream's once.
func (g gate) refresh(ctx context.Context, u bundle.Upstream) error {
	repo := g.repoPath(u.Name)
	unlock, err := lockFile(ctx, filepath.Join(repo, "gate-fetch.lock"))
	if err != nil {
		return fmt.Errorf("refresh %s: %w", u.Name, err)
	}
	defer unlock()
	if _, err := g.git(ctx, repo, g.upstreamEnv(u), "fetch", "--quiet", "--prune", "origin"); err != nil {
		g.log.Errorf("upload-pack %s: refresh failed: %v", u.Name, err)
		return fmt.Errorf("cannot refresh %s from its upstream: %s", u.Name, firstLine(err))
	}
	if err := g.setHeadOnce(ctx, u); err != nil {
		g.log.Errorf("upload-pack %s: set HEAD: %v", u.Name, err)
		return fmt.Errorf("cannot read %s's default branch from its upstream: %s", u.Name, firstLine(err))
	}
	g.log.Infof("upload-pack %s: refreshed from upstream", u.Name)
	return nil
}

// setHeadOnce points the mirror's HEAD at the upstream's default branch
// (fetch never updates a bare mirror's HEAD), the first time it is known.
func (g gate) setHeadOnce(ctx context.Context, u bundle.Upstream) error {
	repo := g.repoPath(u.Name)
	if out, _ := g.git(ctx, repo, nil, "config", "--get", headSetKey); strings.TrimSpace(string(out)) == "true" {
		return nil
	}
	out, err := g.git(ctx, repo, g.upstreamEnv(u), "ls-remote", "--symref", "origin", "HEAD")
	if err != nil {
		return err
	}
	head := symrefHead(string(out))
	if head == "" {
		return nil // empty upstream, or a server that does not say: try again next time
	}
	if _, err := g.git(ctx, repo, nil, "symbolic-ref", "HEAD", head); err != nil {
		return err
	}
	_, err = g.git(ctx, repo, nil, "config", headSetKey, "true")
	return err
}

// symrefHead finds "ref: refs/heads/X<TAB>HEAD" in `git ls-remote --symref` output.
func symrefHead(lsRemote string) string {
	for _, line := range strings.Split(lsRemote, "\n") {
		ref, ok := strings.CutPrefix(line, "ref: ")
		if !ok {
			continue
		}
		target, name, _ := strings.Cut(ref, "\t")
		if name == "HEAD" && strings.HasPrefix(target, "refs/heads/") {
			return target
		}
	}
	return ""
}

// lockFile takes an exclusive flock on path, waiting until ctx ends.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// refUpdate is one line of pre-receive's input.
type refUpdate struct {
	old, new, ref string
}

var objectID = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// parseUpdates reads pre-receive's "<old> <new> <ref>" lines.
func parseUpdates(r io.Reader) ([]refUpdate, error) {
	var out []refUpdate
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || !objectID.MatchString(f[0]) || !objectID.MatchString(f[1]) || !strings.HasPrefix(f[2], "refs/") {
			return nil, fmt.Errorf("malformed ref update %q", sc.Text())
		}
		out = append(out, refUpdate{old: f[0], new: f[1], ref: f[2]})
	}
	return out, sc.Err()
}

// refspec forwards the update: the new object to the ref, or a deletion.
func (u refUpdate) refspec() string {
	if isZero(u.new) {
		return ":" + u.ref
	}
	return u.new + ":" + u.ref
}

// lease is the update's --force-with-lease: the upstream's ref must still
// be where the gate saw it (absent for a new ref). A forced push from the
// agent is forwarded as forced, and only over what the agent fetched.
func (u refUpdate) lease() string {
	if isZero(u.old) {
		return "--force-with-lease=" + u.ref + ":"
	}
	return "--force-with-lease=" + u.ref + ":" + u.old
}

func isZero(oid string) bool { return strings.Trim(oid, "0") == "" }

// preReceive forwards a push received into repo to the upstream, by URL
// (pushing to the mirror's remote would update refs, which quarantine
// forbids). The push is accepted only if the upstream accepted it; the
// upstream's output goes to stderr, which the pusher sees as "remote: ...".
func (g gate) preReceive(ctx context.Context, repo string, stdin io.Reader, stderr io.Writer) error {
	updates, err := parseUpdates(stdin)
	if err != nil {
		return err
	}
	u, err := g.upstreamFor(repo)
	if err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	// --atomic: the upstream takes all of the push or none of it, as the gate does.
	args := []string{"push", "--no-verify", "--atomic"}
	refspecs := make([]string, len(updates))
	for i, up := range updates {
		refspecs[i] = up.refspec()
		args = append(args, up.lease())
	}
	if isLocalURL(u.URL) {
		// git does not scrub the quarantine for its local transport: the
		// upstream's receive-pack would refuse every ref update.
		g.env = withoutVar(g.env, "GIT_QUARANTINE_PATH")
	}
	cmd := g.command(ctx, repo, g.upstreamEnv(u), append(append(args, u.URL), refspecs...)...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		g.log.Errorf("receive-pack %s: upstream refused %v: %v", u.Name, refspecs, err)
		return fmt.Errorf("the upstream of %s did not accept the push", u.Name)
	}
	g.log.Infof("receive-pack %s: forwarded %v", u.Name, refspecs)
	return nil
}

// hookLogger logs to git-gate's log file (hooks' stderr is not a log:
// git daemon discards the access hook's, and pre-receive's goes to the pusher).
func hookLogger(p paths) (*logrus.Logger, func()) {
	log := logrus.New()
	f, err := os.OpenFile(p.hookLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		log.SetOutput(io.Discard)
		return log, func() {}
	}
	log.SetOutput(f)
	return log, func() { f.Close() }
}

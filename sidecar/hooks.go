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
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/display"
)

// hookTimeout bounds a hook's talk with the upstream (a first mirror of a
// big repository takes a while).
const hookTimeout = 10 * time.Minute

// headSetKey marks a mirror whose HEAD was set from the upstream's.
const headSetKey = "claude-bottle.headset"

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
		g.log.Errorf("%s: refresh failed: %v", u.Name, err)
		return fmt.Errorf("cannot refresh %s from its upstream: %s", u.Name, firstLine(err))
	}
	if err := g.setHeadOnce(ctx, u); err != nil {
		g.log.Errorf("%s: refresh: set HEAD: %v", u.Name, err)
		return fmt.Errorf("cannot read %s's default branch from its upstream: %s", u.Name, firstLine(err))
	}
	g.log.Infof("%s: refreshed from upstream", u.Name)
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
// forbids), once the upstream's ref policy allows every update of it. The
// push is accepted only if the upstream accepted it; the upstream's output
// goes to stderr, which the pusher sees as "remote: ...". Each push is
// logged, forwarded or refused.
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
	refused, err := g.policyRefusals(ctx, u, updates)
	if err != nil {
		g.log.Errorf("receive-pack %s: refused: cannot check the ref policy: %v", u.Name, err)
		return fmt.Errorf("cannot check the push against the ref policy of %s", u.Name)
	}
	if len(refused) > 0 {
		for _, r := range refused {
			fmt.Fprintln(stderr, "git-gate: "+r)
		}
		g.log.Warnf("receive-pack %s: refused by its ref policy: %s", u.Name, strings.Join(refused, "; "))
		return fmt.Errorf("the push breaks the ref policy of %s; nothing was forwarded", u.Name)
	}
	return g.forward(ctx, repo, u, updates, stderr)
}

// forward pushes the updates to the upstream, atomically and each over
// what the gate saw (see lease).
func (g gate) forward(ctx context.Context, repo string, u bundle.Upstream, updates []refUpdate, stderr io.Writer) error {
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

// gateLogFDEnv names the descriptor on which the front reads its hooks'
// log lines (gatefront.go): pre-receive runs as receive-pack's child, whose
// stderr goes to the pusher, yet each push must be a line of the bundle's
// log. git passes inherited descriptors on to hooks.
const gateLogFDEnv = "CLAUDE_BOTTLE_GATE_LOG_FD"

// hookLogger logs to the front's log descriptor (one "LEVEL MESSAGE" line
// per entry, made visible), or to the gate's log file when there is none.
func hookLogger(p paths) (*logrus.Logger, func()) {
	log := logrus.New()
	log.SetFormatter(visibleFormatter{hookLineFormatter{}})
	if f := inheritedLogFD(); f != nil {
		log.SetOutput(f)
		return log, func() { f.Close() }
	}
	log.SetFormatter(visibleFormatter{&logrus.TextFormatter{DisableColors: true}})
	f, err := os.OpenFile(p.gateLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		log.SetOutput(io.Discard)
		return log, func() {}
	}
	log.SetOutput(f)
	return log, func() { f.Close() }
}

// inheritedLogFD is the descriptor gateLogFDEnv names, if it is open; it
// is not passed on to the hook's own children (the upstream push, ssh).
func inheritedLogFD() *os.File {
	fd, err := strconv.Atoi(os.Getenv(gateLogFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "git-gate log")
}

// hookLineFormatter writes "LEVEL MESSAGE\n", what the front reads back.
type hookLineFormatter struct{}

func (hookLineFormatter) Format(e *logrus.Entry) ([]byte, error) {
	return []byte(e.Level.String() + " " + e.Message + "\n"), nil
}

// visibleFormatter makes each message visible before f formats it: the
// gate logs ref names, paths and git's messages, which carry the guest's
// bytes, and its log is shown to people (claude-bottle logs).
type visibleFormatter struct{ f logrus.Formatter }

func (v visibleFormatter) Format(e *logrus.Entry) ([]byte, error) {
	visible := *e
	visible.Message = display.Visible(e.Message)
	return v.f.Format(&visible)
}

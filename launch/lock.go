package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Locks make what claude-bottle does to one bottle name take turns across
// processes: a launch holds the name's lock until it returns (an attached
// launch: until its teardown is done), a stop while it removes.
type Locks interface {
	// Lock takes the lock of a bottle name for holder (what it is taken
	// for, shown to whoever finds it taken). With wait it waits until the
	// lock is free or ctx ends; else a taken lock is a *BusyError.
	Lock(ctx context.Context, bottle, holder string, wait bool) (unlock func(), err error)
}

// BusyError is a bottle name whose lock another claude-bottle holds.
type BusyError struct {
	Bottle string
	Holder string // "pid 123 (launch)", or "" when it has not said yet
}

func (e *BusyError) Error() string {
	by := "another claude-bottle"
	if e.Holder != "" {
		by = "claude-bottle " + e.Holder
	}
	return fmt.Sprintf("bottle %s is busy: %s is launching or stopping it (see claude-bottle ls)", e.Bottle, by)
}

// FileLocks are flock(2) locks on one file per bottle name under Dir. A
// lock dies with the process that holds it; the files stay (removing one
// while another process waits on it would give two holders).
type FileLocks struct {
	Dir string
	// Poll is how often a waiting Lock retries (default 100 ms).
	Poll time.Duration
	// Waiting, when set, is told once that Lock waits, and for whom.
	Waiting func(holder string)
}

func (l FileLocks) Lock(ctx context.Context, bottle, holder string, wait bool) (func(), error) {
	if l.Dir == "" {
		return nil, errors.New("lock: no directory for the bottle locks (set HOME or XDG_CACHE_HOME)")
	}
	if err := ValidateName(bottle); err != nil {
		return nil, err // the name becomes a path
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(l.Dir, bottle+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		busy := &BusyError{Bottle: bottle, Holder: readHolder(f)}
		if !wait {
			f.Close()
			return nil, busy
		}
		if !told && l.Waiting != nil {
			l.Waiting(busy.Holder)
			told = true
		}
		if err := sleep(ctx, l.poll()); err != nil {
			f.Close()
			return nil, fmt.Errorf("waiting for the lock of %s: %w", bottle, err)
		}
	}
	// Who holds it, for whoever finds it taken.
	f.Truncate(0)
	f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+" ("+holder+")\n"), 0)
	return func() { f.Close() }, nil // closing the file releases the lock
}

func (l FileLocks) poll() time.Duration {
	if l.Poll > 0 {
		return l.Poll
	}
	return 100 * time.Millisecond
}

// readHolder reads what the holder wrote into the lock file (one short line).
func readHolder(f *os.File) string {
	b := make([]byte, 64)
	n, _ := f.ReadAt(b, 0)
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	if !holderLine.MatchString(line) {
		return ""
	}
	return line
}

// holderLine is what Lock writes; anything else in the file is not shown.
var holderLine = regexp.MustCompile(`^pid [0-9]+ \([a-z]+\)$`)

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NoLocks takes no lock: a dry-run creates nothing, and in-process tests
// run one command at a time.
type NoLocks struct{}

func (NoLocks) Lock(context.Context, string, string, bool) (func(), error) { return func() {}, nil }

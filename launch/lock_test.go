package launch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFileLocksTakeTurns: a second holder of a name is refused (and told
// who holds it) or waits until the first lets go; other names are free.
func TestFileLocksTakeTurns(t *testing.T) {
	ctx := context.Background()
	var waited string
	l := FileLocks{Dir: t.TempDir(), Poll: 10 * time.Millisecond, Waiting: func(h string) { waited = h }}
	unlock, err := l.Lock(ctx, "x", "launch", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Lock(ctx, "x", "launch", false)
	var busy *BusyError
	if !errors.As(err, &busy) || !strings.HasPrefix(busy.Holder, "pid ") || !strings.HasSuffix(busy.Holder, " (launch)") {
		t.Fatalf("second Lock: %v, want busy, held by this pid's launch", err)
	}
	other, err := l.Lock(ctx, "y", "launch", false)
	if err != nil {
		t.Fatalf("another name: %v", err)
	}
	other()
	got := make(chan error, 1)
	go func() {
		u, err := l.Lock(ctx, "x", "stop", true)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a waiting Lock returned while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a waiting Lock did not get the lock once it was free")
	}
	if !strings.HasSuffix(waited, "(launch)") {
		t.Errorf("Waiting was told %q, want the holder", waited)
	}
}

// TestFileLocksWaitEndsWithContext: an interrupted stop stops waiting.
func TestFileLocksWaitEndsWithContext(t *testing.T) {
	l := FileLocks{Dir: t.TempDir(), Poll: 10 * time.Millisecond}
	unlock, err := l.Lock(context.Background(), "x", "launch", false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "x", "stop", true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock = %v, want the context's end", err)
	}
}

// TestFileLocksRefuseBadNames: the name becomes a path.
func TestFileLocksRefuseBadNames(t *testing.T) {
	l := FileLocks{Dir: t.TempDir()}
	for _, n := range []string{"../x", "a/b", "", ".."} {
		if _, err := l.Lock(context.Background(), n, "stop", false); err == nil {
			t.Errorf("Lock(%q) took a lock", n)
		}
	}
	if _, err := (FileLocks{}).Lock(context.Background(), "x", "stop", false); err == nil {
		t.Error("Lock with no directory took a lock")
	}
}

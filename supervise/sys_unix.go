//go:build unix

package supervise

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on path (created if needed) and returns
// the function that releases it. flock serialises separate opens, so it
// guards goroutines of one process as well as separate processes.
func lockDir(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// hangUp sends SIGHUP to pid.
func hangUp(pid int) error { return syscall.Kill(pid, syscall.SIGHUP) }

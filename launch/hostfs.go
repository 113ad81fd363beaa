package launch

import "os"

// HostFS is what a launch does to host files itself (the image cache).
type HostFS interface {
	Exists(path string) bool
	MkdirAll(dir string) error
	Rename(from, to string) error
}

// OSFS is the real HostFS.
type OSFS struct{}

func (OSFS) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
func (OSFS) MkdirAll(dir string) error    { return os.MkdirAll(dir, 0o755) }
func (OSFS) Rename(from, to string) error { return os.Rename(from, to) }

// NoFS is the dry-run's HostFS: nothing exists, nothing changes.
type NoFS struct{}

func (NoFS) Exists(string) bool          { return false }
func (NoFS) MkdirAll(string) error       { return nil }
func (NoFS) Rename(string, string) error { return nil }

package launch

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// HostFS is what a launch does to host files itself (the image cache).
type HostFS interface {
	// Open opens a file to read.
	Open(path string) (io.ReadSeekCloser, error)
	MkdirAll(dir string) error
	// Commit gives a complete file its final name durably: the file is
	// synced, renamed, and its directory synced, so that a crash never
	// leaves the final name on a file whose data never reached the disk.
	Commit(from, to string) error
	Remove(path string) error
	// List lists a directory's entries; none when it does not exist.
	List(dir string) ([]fs.FileInfo, error)
}

// OSFS is the real HostFS.
type OSFS struct{}

func (OSFS) Open(path string) (io.ReadSeekCloser, error) { return os.Open(path) }
func (OSFS) MkdirAll(dir string) error                   { return os.MkdirAll(dir, 0o755) }
func (OSFS) Remove(path string) error                    { return os.Remove(path) }

func (OSFS) Commit(from, to string) error {
	if err := syncPath(from); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncPath(filepath.Dir(to)) // the rename itself
}

// syncPath fsyncs a file or a directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (OSFS) List(dir string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		out = append(out, fi)
	}
	return out, nil
}

// NoFS is the dry-run's HostFS: nothing exists, nothing changes.
type NoFS struct{}

func (NoFS) Open(string) (io.ReadSeekCloser, error) { return nil, fs.ErrNotExist }
func (NoFS) MkdirAll(string) error                  { return nil }
func (NoFS) Commit(string, string) error            { return nil }
func (NoFS) Remove(string) error                    { return nil }
func (NoFS) List(string) ([]fs.FileInfo, error)     { return nil, nil }

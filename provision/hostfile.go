package provision

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Caps on the host files a launch carries whole (--prompt, --git-credential,
// --known-hosts). Each is checked at prepare and again when the archive
// reads the file.
const (
	// MaxPromptSize: the prompt becomes one argument of claude in the guest
	// ("$(cat …)", AgentCommand), and Linux caps one argv string at
	// MAX_ARG_STRLEN, 128 KiB with its terminating NUL. A larger prompt
	// would fail with "Argument list too long" after the bottle was built.
	MaxPromptSize = 128<<10 - 1
	// MaxCredentialSize: an SSH private key is a few KiB.
	MaxCredentialSize = 64 << 10
	// MaxKnownHostsSize: a long known_hosts is a few hundred KiB.
	MaxKnownHostsSize = 1 << 20
)

// OpenRegular opens a host file for reading if it is a regular file, and
// never blocks. It refuses anything else before opening it (a device may
// act on open), and again after: the path may have been swapped for a FIFO
// in between, and open(2) of a FIFO without O_NONBLOCK waits for a writer,
// deaf to signals. O_NOCTTY: a terminal never becomes ours. A symlink is
// followed (--prompt may be one).
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	return openRegular(path, os.Stat, 0)
}

// openTreeFile opens a file a tree walk saw as a regular file: as
// OpenRegular, but a symlink put in its place is refused (O_NOFOLLOW), not
// followed out of the tree.
func openTreeFile(path string) (*os.File, fs.FileInfo, error) {
	return openRegular(path, os.Lstat, syscall.O_NOFOLLOW)
}

func openRegular(path string, stat func(string) (fs.FileInfo, error), flags int) (*os.File, fs.FileInfo, error) {
	fi, err := stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY|flags, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = regular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// regular says what path is when it is not a regular file.
func regular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%s is a directory", path)
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink, not a regular file", path)
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("%s is a FIFO, not a regular file", path)
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("%s is a device, not a regular file", path)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("%s is a socket, not a regular file", path)
	}
	return fmt.Errorf("%s is not a regular file", path)
}

// CheckHostFile checks at prepare that path is a readable regular file of
// at most max bytes; what names it (the flag) is the caller's to say.
func CheckHostFile(path string, max int64) error {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return err
	}
	f.Close()
	return checkSize(path, fi.Size(), max)
}

// ReadHostFile reads a regular file of at most max bytes, checked again at
// read: a file that grew past max is an error, never read on without end.
func ReadHostFile(path string, max int64) ([]byte, error) {
	f, fi, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkSize(path, fi.Size(), max); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	return b, checkSize(path, int64(len(b)), max)
}

func checkSize(path string, size, max int64) error {
	if size > max {
		return &TooLargeError{Path: path, Max: max}
	}
	return nil
}

// TooLargeError is a host file over its cap.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string { return e.Path + " is larger than " + byteSize(e.Max) }

// byteSize writes a cap the way people read it: 64 KiB, 1 MiB, 1 GiB, or bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

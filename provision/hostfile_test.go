package provision

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned after 5 s:
// opening a FIFO without O_NONBLOCK blocks until a writer comes.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still blocked after 5 s", what)
		return nil
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return path
}

// TestHostFileRefusesNonRegular: a FIFO, a device, a directory are refused
// at once, never opened for a read that blocks or never ends.
func TestHostFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "fifo"))
	for path, want := range map[string]string{
		fifo:        "is a FIFO, not a regular file",
		"/dev/zero": "is a device, not a regular file",
		dir:         "is a directory",
	} {
		err := within(t, path, func() error { _, err := ReadHostFile(path, 1<<20); return err })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadHostFile(%s) = %v, want %q", path, err, want)
		}
		err = within(t, path, func() error { return CheckHostFile(path, 1<<20) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckHostFile(%s) = %v, want %q", path, err, want)
		}
	}
}

func TestHostFileCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadHostFile(path, 64<<10); err != nil || len(b) != 64<<10 {
		t.Errorf("at the cap: %d bytes, %v", len(b), err)
	}
	for _, err := range []error{CheckHostFile(path, 64<<10-1), func() error { _, err := ReadHostFile(path, 64<<10-1); return err }()} {
		if err == nil || !strings.Contains(err.Error(), "is larger than 65535 bytes") {
			t.Errorf("over the cap: %v", err)
		}
	}
	if err := CheckHostFile(path, 1<<10); err == nil || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Errorf("cap in KiB: %v", err)
	}
}

// readArchive reads the whole archive and returns its error.
func readArchive(files []File) error {
	tr := tar.NewReader(Archive(files))
	for {
		if _, err := tr.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
}

// TestArchiveRechecksHostFiles: the archive reads only what prepare
// checked. A prompt swapped for a FIFO after the check is an error, not a
// read that blocks; one that grew past its cap is an error, not read on.
func TestArchiveRechecksHostFiles(t *testing.T) {
	dir := t.TempDir()
	prompt := filepath.Join(dir, "prompt.txt")
	if err := os.WriteFile(prompt, []byte("do it"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := Files(Inputs{Prompt: prompt}, Live{CA: []byte("CERT"), CAKind: CAPipelock})
	if err := CheckHostFile(prompt, MaxPromptSize); err != nil {
		t.Fatal(err)
	}
	if err := readArchive(files); err != nil {
		t.Fatalf("a checked prompt: %v", err)
	}

	// Swapped for a FIFO.
	if err := os.Remove(prompt); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, prompt)
	err := within(t, "archive of a FIFO prompt", func() error { return readArchive(files) })
	if err == nil || !strings.Contains(err.Error(), "is a FIFO") {
		t.Errorf("archive of a FIFO prompt: %v", err)
	}

	// Grown past the cap.
	os.Remove(prompt)
	if err := os.WriteFile(prompt, bytes.Repeat([]byte("p"), MaxPromptSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readArchive(files); err == nil || !strings.Contains(err.Error(), "is larger than") {
		t.Errorf("archive of a prompt over the cap: %v", err)
	}
}

// TestTreeFileRecheck: a file of a tree (skill, .git) that is a FIFO or a
// symlink when the archive opens it is refused, never waited on nor
// followed.
func TestTreeFileRecheck(t *testing.T) {
	dir := t.TempDir()
	fifo := mkfifo(t, filepath.Join(dir, "fifo"))
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/etc/hostname", link); err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(io.Discard)
	for path, want := range map[string]string{fifo: "is a FIFO", link: "is a symlink"} {
		err := within(t, path, func() error { return copyFile(tw, path, "x", Agent) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("copyFile(%s) = %v, want %q", path, err, want)
		}
	}
}

package provision

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Archive streams files as one tar archive rooted at "/" (entry names have
// no leading slash). It is built lazily, as the command reads it: a dry-run
// never reads it, and a large .git is never held in memory.
func Archive(files []File) io.Reader {
	pr, pw := io.Pipe()
	started := false
	return readerFunc(func(p []byte) (int, error) {
		if !started {
			started = true
			go func() { pw.CloseWithError(WriteArchive(pw, files)) }()
		}
		return pr.Read(p)
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// WriteArchive writes files as a tar archive to w.
func WriteArchive(w io.Writer, files []File) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		var err error
		switch {
		case f.Dir:
			err = tw.WriteHeader(header(f.Path+"/", tar.TypeDir, f.Owner, f.Mode, 0))
		case f.Git != nil:
			err = writeGitDir(tw, f)
		case f.Worktree != nil:
			err = writeWorktree(tw, f.Worktree, f.Path, f.Owner)
		case f.Tree:
			err = writeTree(tw, f.Source, f.Path, f.Owner, true)
		case f.Source != "":
			err = writeHostFile(tw, f)
		default:
			err = writeContent(tw, f.Path, f.Owner, f.Mode, f.Content)
		}
		if err != nil {
			return fmt.Errorf("archive %s: %w", f.Path, err)
		}
	}
	return tw.Close()
}

func header(path string, typ byte, u User, mode fs.FileMode, size int64) *tar.Header {
	return &tar.Header{
		Name: strings.TrimPrefix(path, "/"), Typeflag: typ, Size: size,
		Mode: tarMode(typ, mode),
		Uid:  u.UID, Gid: u.GID, Uname: u.Name, Gname: u.Name,
		Format: tar.FormatPAX,
	}
}

// Unix mode bits above the permissions, as tar.FileInfoHeader writes them
// (Go's fs.ModeSetgid and fs.ModeSticky are high bits that tar cannot
// encode: "cannot encode header … Mode=4194813").
const (
	modeSetgid = 0o2000
	modeSticky = 0o1000
)

// tarMode is a header's Unix mode: the permissions and, on directories
// only, setgid and sticky. setgid on a directory (git init --shared=group)
// only makes new files inherit the directory's group, which is the agent's
// own; sticky only restricts deletes. setuid never travels, and no special
// bit travels on a file: every entry is owned by the header's user, so a
// setuid or setgid file would only run as that user, and nothing needs it.
func tarMode(typ byte, mode fs.FileMode) int64 {
	m := int64(mode.Perm())
	if typ == tar.TypeDir {
		if mode&fs.ModeSetgid != 0 {
			m |= modeSetgid
		}
		if mode&fs.ModeSticky != 0 {
			m |= modeSticky
		}
	}
	return m
}

func writeContent(tw *tar.Writer, path string, u User, mode fs.FileMode, b []byte) error {
	if err := tw.WriteHeader(header(path, tar.TypeReg, u, mode, int64(len(b)))); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// DefaultMaxSize caps a host file whose File sets no Max.
const DefaultMaxSize = 1 << 20

// writeHostFile copies one host file with the File's owner and mode. It is
// checked again as prepare checked it (a regular file within its cap): it
// may have been swapped since.
func writeHostFile(tw *tar.Writer, f File) error {
	max := f.Max
	if max == 0 {
		max = DefaultMaxSize
	}
	b, err := ReadHostFile(f.Source, max)
	if err != nil {
		return err
	}
	return writeContent(tw, f.Path, f.Owner, f.Mode, b)
}

// writeTree copies the host directory src to dst: every directory, regular
// file and (with links) symlink, with its mode kept and owned by u. Other
// file types (sockets, devices) are skipped.
func writeTree(tw *tar.Writer, src, dst string, u User, links bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := dst
		if rel != "." {
			name = dst + "/" + filepath.ToSlash(rel)
		}
		switch {
		case d.IsDir():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return tw.WriteHeader(header(name+"/", tar.TypeDir, u, info.Mode(), 0))
		case d.Type()&fs.ModeSymlink != 0 && links:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			h := header(name, tar.TypeSymlink, u, 0o777, 0)
			h.Linkname = target
			return tw.WriteHeader(h)
		case d.Type().IsRegular():
			return copyFile(tw, path, name, u)
		}
		return nil
	})
}

// copyFile copies one regular file of a tree. The walk saw a regular file;
// openTreeFile makes sure it still is one (a FIFO put in its place would
// block the open, a symlink would lead out of the tree), and the header
// takes the size and mode of what was opened.
func copyFile(tw *tar.Writer, path, name string, u User) error {
	fh, info, err := openTreeFile(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := tw.WriteHeader(header(name, tar.TypeReg, u, info.Mode(), info.Size())); err != nil {
		return err
	}
	_, err = io.CopyN(tw, fh, info.Size())
	return err
}

// treeNotes lists every file of a host directory tree as note lines
// (dry-run transparency for skills).
func treeNotes(src, dst string, u User) ([]string, error) {
	var out []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := dst
		if rel != "." {
			name = dst + "/" + filepath.ToSlash(rel)
		}
		switch {
		case d.IsDir():
			out = append(out, fmt.Sprintf("%s %04o %s/", u.Name, info.Mode().Perm(), name))
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			out = append(out, fmt.Sprintf("%s link %s -> %s", u.Name, name, target))
		case d.Type().IsRegular():
			out = append(out, fmt.Sprintf("%s %04o %s", u.Name, info.Mode().Perm(), name))
		}
		return nil
	})
	return out, err
}

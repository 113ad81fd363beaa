package fake

import (
	"archive/tar"
	"fmt"
	"io"
	"strings"
)

// logTar reads a tar stream and logs one line per entry: owner uid:gid,
// mode, name (and a symlink's target). It returns the entries' contents by
// name for the stand-ins that need them.
func logTar(dir string, r io.Reader) (map[string][]byte, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			logf(dir, "    tar: %v\n", err)
			return files, err
		}
		line := fmt.Sprintf("    %d:%d %04o %s", h.Uid, h.Gid, h.Mode&0o7777, h.Name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			line += " -> " + h.Linkname
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, "/")] = b
			line += fmt.Sprintf(" (%d bytes)", len(b))
		}
		logf(dir, "%s\n", line)
	}
}

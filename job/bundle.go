package job

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/display"
)

// Header is what a git bundle's header says (gitformat-bundle(5)): the
// commits the receiver must have and the refs the pack completes. It is
// read here, never by git: the guest wrote it.
type Header struct {
	Version      int    // 2 or 3
	ObjectFormat string // sha1 (v2) or sha256 (v3 only)
	// Prerequisites are object ids the host must have: the pack may be thin
	// against them.
	Prerequisites []string
	Refs          []Ref
	// Size is the header's length in bytes: where the pack starts.
	Size int64
}

// Ref is one ref line of a bundle: an object id and a name, unchecked.
type Ref struct {
	OID, Name string
}

// PackHeader is the start of a pack: its version and object count.
type PackHeader struct {
	Version uint32
	Objects uint32
}

// Limits of a header: an honest guest sends one line per branch and per
// commit the host passed it.
const (
	maxHeaderLine = 4096
	maxRefs       = 1000
	maxPrereqs    = 1000
)

var (
	sha1RE   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ReadHeader reads a bundle's header from r, up to and including the
// empty line that ends it. Anything malformed is an error quoting the
// line (made visible: it is the guest's); ref names are not checked here.
func ReadHeader(r io.Reader) (Header, error) {
	br := bufio.NewReaderSize(r, maxHeaderLine)
	var h Header
	line, err := readLine(br, &h)
	if err != nil {
		return h, err
	}
	switch line {
	case "# v2 git bundle":
		h.Version, h.ObjectFormat = 2, "sha1"
	case "# v3 git bundle":
		h.Version, h.ObjectFormat = 3, "sha1"
	default:
		return h, fmt.Errorf("not a git bundle: it starts with %s", quote(line))
	}
	oidRE := sha1RE
	for {
		line, err := readLine(br, &h)
		if err != nil {
			return h, err
		}
		switch {
		case line == "":
			return h, nil
		case strings.HasPrefix(line, "@"):
			if err := h.capability(line); err != nil {
				return h, err
			}
			if h.ObjectFormat == "sha256" {
				oidRE = sha256RE
			}
		case strings.HasPrefix(line, "-"):
			oid, _, _ := strings.Cut(line[1:], " ") // the rest is a comment
			if !oidRE.MatchString(oid) {
				return h, fmt.Errorf("bad prerequisite line %s", quote(line))
			}
			if len(h.Prerequisites) == maxPrereqs {
				return h, fmt.Errorf("more than %d prerequisites", maxPrereqs)
			}
			h.Prerequisites = append(h.Prerequisites, oid)
		default:
			oid, name, ok := strings.Cut(line, " ")
			if !ok || !oidRE.MatchString(oid) {
				return h, fmt.Errorf("bad ref line %s", quote(line))
			}
			if len(h.Refs) == maxRefs {
				return h, fmt.Errorf("more than %d refs", maxRefs)
			}
			h.Refs = append(h.Refs, Ref{OID: oid, Name: name})
		}
	}
}

// capability handles a v3 "@key=value" line: the object format is
// understood, anything else (a filter: a partial bundle) is refused, as git
// refuses capabilities it does not know.
func (h *Header) capability(line string) error {
	if h.Version != 3 || len(h.Prerequisites)+len(h.Refs) > 0 {
		return fmt.Errorf("capability line %s out of place", quote(line))
	}
	switch line {
	case "@object-format=sha1":
		h.ObjectFormat = "sha1"
	case "@object-format=sha256":
		h.ObjectFormat = "sha256"
	default:
		return fmt.Errorf("unsupported bundle capability %s", quote(line))
	}
	return nil
}

// readLine reads one "\n"-terminated line of at most maxHeaderLine bytes
// and counts it into h.Size.
func readLine(br *bufio.Reader, h *Header) (string, error) {
	b, err := br.ReadSlice('\n')
	h.Size += int64(len(b))
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", fmt.Errorf("a header line longer than %d bytes", maxHeaderLine)
	case errors.Is(err, io.EOF):
		return "", fmt.Errorf("the header ends early (after %d bytes)", h.Size)
	case err != nil:
		return "", err
	}
	return string(b[:len(b)-1]), nil
}

// ReadPackHeader reads the 12 bytes a pack starts with. A bundle that ends
// right after its header carries no objects (zero is returned).
func ReadPackHeader(r io.Reader) (PackHeader, error) {
	var b [12]byte
	n, err := io.ReadFull(r, b[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return PackHeader{Version: 2}, nil
	}
	if err != nil {
		return PackHeader{}, fmt.Errorf("the pack ends early (%d bytes)", n)
	}
	if !bytes.Equal(b[:4], []byte("PACK")) {
		return PackHeader{}, fmt.Errorf("the pack does not start with PACK but %s", quote(string(b[:4])))
	}
	p := PackHeader{Version: binary.BigEndian.Uint32(b[4:8]), Objects: binary.BigEndian.Uint32(b[8:12])}
	if p.Version != 2 && p.Version != 3 {
		return PackHeader{}, fmt.Errorf("pack version %d", p.Version)
	}
	return p, nil
}

// quote shows at most 100 bytes of guest text, visibly, in quotes.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + display.Visible(s) + `"`
}

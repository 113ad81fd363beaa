package job

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// DefaultMaxSize is how many bytes of bundle a fetch takes from the guest
// unless told otherwise (--max-size).
const DefaultMaxSize = 512 << 20

// errTooLarge is the capture's write error once the guest sent more than the cap.
var errTooLarge = errors.New("the guest sent more than the size cap")

// capture is where the guest's bundle goes: a temporary file that takes at
// most max bytes. The write past the cap fails, and overflow is called
// (it cancels the guest's command: a guest may send forever).
type capture struct {
	f        *os.File
	n, max   int64
	overflow func()
	over     bool
}

func newCapture(max int64, overflow func()) (*capture, error) {
	f, err := os.CreateTemp("", "claude-bottle-fetch-*.bundle")
	if err != nil {
		return nil, fmt.Errorf("a file for the guest's bundle: %w", err)
	}
	return &capture{f: f, max: max, overflow: overflow}, nil
}

func (c *capture) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.max {
		if !c.over {
			c.over = true
			c.overflow()
		}
		return 0, errTooLarge
	}
	n, err := c.f.Write(p)
	c.n += int64(n)
	return n, err
}

// Close removes the file.
func (c *capture) Close() error {
	c.f.Close()
	return os.Remove(c.f.Name())
}

// section is the captured bytes from off on.
func (c *capture) section(off int64) *io.SectionReader {
	return io.NewSectionReader(c.f, off, c.n-off)
}

// ParseSize reads a size: bytes, or a number with K, M or G (powers of
// 1024; "KiB", "MB"… spellings too).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult, t = 1<<10, t[:n-1]
		case 'M':
			mult, t = 1<<20, t[:n-1]
		case 'G':
			mult, t = 1<<30, t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes, or with K, M or G", s)
	}
	return v * mult, nil
}

// FormatSize writes n as ParseSize reads it: in GiB, MiB or KiB when exact.
func FormatSize(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.unit
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

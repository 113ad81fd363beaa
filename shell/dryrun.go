package shell

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DryRun prints each command as one POSIX-quoted line (its Note first, as
// comment lines) and runs nothing. The transcript is a shell script.
//
// Queries get placeholder answers, so that the launch can go on:
//
//	docker port NAME PORT/tcp    prints 127.0.0.1:<40000+PORT>  (8888 -> 48888)
//	anything else                prints nothing and succeeds
type DryRun struct {
	W io.Writer
}

var _ Runner = (*DryRun)(nil)

// PlaceholderPortBase is added to a container port to make the host port a
// dry-run's `docker port` answers with.
const PlaceholderPortBase = 40000

func (d *DryRun) Run(_ context.Context, c Cmd) error {
	var b strings.Builder
	for _, n := range c.Note {
		b.WriteString(Comment(n))
	}
	b.WriteString(c.String())
	b.WriteByte('\n')
	if _, err := io.WriteString(d.W, b.String()); err != nil {
		return fmt.Errorf("dry-run: %w", err)
	}
	if c.Stdout != nil {
		if ans := Placeholder(c.Argv); ans != "" {
			io.WriteString(c.Stdout, ans+"\n")
		}
	}
	return nil
}

// Comment renders text as shell comment lines, one "# " line per line of text.
func Comment(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Placeholder is the dry-run's answer to a query command, or "".
func Placeholder(argv []string) string {
	if len(argv) == 4 && argv[0] == "docker" && argv[1] == "port" {
		port, ok := strings.CutSuffix(argv[3], "/tcp")
		if n, err := strconv.Atoi(port); ok && err == nil && n > 0 && n < 65536-PlaceholderPortBase {
			return "127.0.0.1:" + strconv.Itoa(PlaceholderPortBase+n)
		}
	}
	return ""
}

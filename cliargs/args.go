// Package cliargs holds what urfave/cli v2 leaves to its commands: flags
// written after positional arguments (`approve NAME ID --note TEXT`, `fetch
// NAME --repo DIR`), and usage errors that exit 2.
package cliargs

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Positional returns the command's positional arguments, one per name, and
// applies flags written after them (`approve NAME ID --note TEXT`):
// urfave/cli v2 stops parsing flags at the first positional argument.
// Errors are usage errors (exit code 2).
func Positional(c *cli.Context, names ...string) ([]string, error) {
	args := c.Args().Slice()
	if len(args) < len(names) {
		return nil, Usage(c, "missing %s", strings.Join(names[len(args):], " "))
	}
	pos, rest := args[:len(names)], args[len(names):]
	for len(rest) > 0 {
		n, err := setFlag(c, rest)
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return pos, nil
}

// setFlag applies the flag at args[0] (with its value) and reports how many
// arguments it used.
func setFlag(c *cli.Context, args []string) (int, error) {
	a := args[0]
	if !strings.HasPrefix(a, "-") {
		return 0, Usage(c, "unexpected argument %q", a)
	}
	name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
	f := lookupFlag(c, name)
	if f == nil {
		return 0, Usage(c, "unknown flag %q", a)
	}
	used := 1
	if _, isBool := f.(*cli.BoolFlag); isBool && !hasValue {
		value, hasValue = "true", true
	}
	if !hasValue {
		if len(args) < 2 {
			return 0, Usage(c, "flag %s needs a value", a)
		}
		value, used = args[1], 2
	}
	if err := c.Set(name, value); err != nil {
		return 0, Usage(c, "flag %s: %v", a, err)
	}
	return used, nil
}

func lookupFlag(c *cli.Context, name string) cli.Flag {
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// Usage is a bad-input error: exit code 2, nothing run.
func Usage(c *cli.Context, format string, a ...any) error {
	return cli.Exit(fmt.Sprintf("%s: %s (usage: %s %s)", c.Command.Name, fmt.Sprintf(format, a...),
		c.Command.HelpName, c.Command.ArgsUsage), 2)
}

package cliargs

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// run runs `app cmd ARGS…` with one string and one bool flag and returns
// the positional arguments, the flags' values and the error.
func run(args ...string) (pos []string, note string, all bool, err error) {
	app := &cli.App{Name: "app", Commands: []*cli.Command{{
		Name: "cmd", ArgsUsage: "NAME ID",
		Flags: []cli.Flag{&cli.StringFlag{Name: "note"}, &cli.BoolFlag{Name: "all"}},
		Action: func(c *cli.Context) error {
			pos, err = Positional(c, "NAME", "ID")
			note, all = c.String("note"), c.Bool("all")
			return nil
		},
	}}}
	if rerr := app.Run(append([]string{"app", "cmd"}, args...)); rerr != nil {
		err = rerr
	}
	return
}

func TestPositional(t *testing.T) {
	pos, note, all, err := run("b", "r1", "--note", "-x looks like a flag", "--all")
	if err != nil || strings.Join(pos, " ") != "b r1" || note != "-x looks like a flag" || !all {
		t.Errorf("got %q %q %v %v", pos, note, all, err)
	}
	if _, note, _, err := run("--note=before", "b", "r1"); err != nil || note != "before" {
		t.Errorf("a flag before the arguments: %q %v", note, err)
	}
	for args, want := range map[string]string{
		"b":                "missing ID",
		"b r1 extra":       `unexpected argument "extra"`,
		"b r1 --bogus":     `unknown flag "--bogus"`,
		"b r1 --note":      "flag --note needs a value",
		"b r1 --all=maybe": "flag --all=maybe",
	} {
		_, _, _, err := run(strings.Fields(args)...)
		code := 0
		if ec, ok := err.(cli.ExitCoder); ok {
			code = ec.ExitCode()
		}
		if err == nil || !strings.Contains(err.Error(), want) || code != 2 {
			t.Errorf("%q: %v (exit %d), want %q with exit 2", args, err, code, want)
		}
	}
}

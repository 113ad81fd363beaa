package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/cliargs"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/shell"
)

// HostCommand is `claude-bottle supervise` on the host: each verb runs
// exactly one `docker exec` of the in-bundle operator command (SidecarCommand)
// in the bottle's bundle, through the runner, with its output streamed.
func HostCommand(runner func(*cli.Context) shell.Runner) *cli.Command {
	note := &cli.StringFlag{Name: "note", Usage: "note for the agent (TEXT)"}
	return &cli.Command{
		Name:  bundle.Supervise,
		Usage: "answer the agent's requests for egress and capabilities",
		Subcommands: []*cli.Command{
			{
				Name: "ls", Usage: "list pending and past requests (--all: every request and decision with its time)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "all", Usage: "print the whole audit log"},
					&cli.BoolFlag{Name: "json", Usage: "one JSON object per line"},
				},
				Action: func(c *cli.Context) error { return hostLs(c, runner) },
			},
			{
				Name: "approve", Usage: "approve a request (an egress host is allowed at once)",
				ArgsUsage: "NAME ID", Flags: []cli.Flag{note},
				Action: func(c *cli.Context) error { return hostDecide(c, runner, "approve") },
			},
			{
				Name: "deny", Usage: "deny a request",
				ArgsUsage: "NAME ID", Flags: []cli.Flag{note},
				Action: func(c *cli.Context) error { return hostDecide(c, runner, "deny") },
			},
			{
				Name: "watch", Usage: "print requests as they arrive, until interrupted",
				ArgsUsage: "NAME",
				Action:    func(c *cli.Context) error { return hostWatch(c, runner) },
			},
		},
	}
}

// OperatorArgv is the docker command that runs an in-bundle operator verb in
// the bottle's bundle; interactive adds -i (stdin attached).
func OperatorArgv(bottle string, interactive bool, verb ...string) []string {
	argv := []string{"docker", "exec"}
	if interactive {
		argv = append(argv, "-i") // watch: stdin EOF tells the bundle side the host went away
	}
	argv = append(argv, bundle.ContainerName(bottle), bundle.Binary, "sidecar", bundle.Supervise)
	return append(argv, verb...)
}

func hostLs(c *cli.Context, runner func(*cli.Context) shell.Runner) error {
	pos, err := cliargs.Positional(c, "NAME")
	if err != nil {
		return err
	}
	if err := checkName(c, pos[0]); err != nil {
		return err
	}
	verb := []string{"ls"}
	if c.Bool("all") {
		verb = append(verb, "--all")
	}
	if c.Bool("json") {
		verb = append(verb, "--json")
	}
	return runOperator(c, runner, pos[0], shell.Cmd{Argv: OperatorArgv(pos[0], false, verb...)})
}

func hostDecide(c *cli.Context, runner func(*cli.Context) shell.Runner, verb string) error {
	pos, err := cliargs.Positional(c, "NAME", "ID")
	if err != nil {
		return err
	}
	if err := checkName(c, pos[0]); err != nil {
		return err
	}
	if !idPattern.MatchString(pos[1]) {
		return cliargs.Usage(c, "bad request ID %q (want r1, r2, …)", pos[1])
	}
	args := []string{verb}
	if c.IsSet("note") {
		args = append(args, "--note="+c.String("note")) // one argv word, even if the note starts with "-"
	}
	args = append(args, pos[1])
	return runOperator(c, runner, pos[0], shell.Cmd{Argv: OperatorArgv(pos[0], false, args...)})
}

func hostWatch(c *cli.Context, runner func(*cli.Context) shell.Runner) error {
	pos, err := cliargs.Positional(c, "NAME")
	if err != nil {
		return err
	}
	if err := checkName(c, pos[0]); err != nil {
		return err
	}
	if err := job.LocateBundle(c.Context, runner(c), pos[0]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := shell.Cmd{
		Argv:   OperatorArgv(pos[0], true, "watch", "--exit-on-eof"),
		Stdin:  c.App.Reader,
		Stdout: c.App.Writer,
		Stderr: c.App.ErrWriter,
	}
	err = runner(c).Run(ctx, cmd)
	if ctx.Err() != nil && c.Context.Err() == nil {
		return nil // interrupted: the normal way to stop watching
	}
	return operatorError(err)
}

// runOperator runs one operator command in bottle's bundle with its output
// streamed through, once the bundle is found (job.LocateBundle): docker's
// own "No such container" would reach stderr in its words.
func runOperator(c *cli.Context, runner func(*cli.Context) shell.Runner, bottle string, cmd shell.Cmd) error {
	if err := job.LocateBundle(c.Context, runner(c), bottle); err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = c.App.Writer, c.App.ErrWriter
	return operatorError(runner(c).Run(c.Context, cmd))
}

// operatorError passes a failed operator command's exit status through; its
// message already reached stderr.
func operatorError(err error) error {
	if err == nil {
		return nil
	}
	if code := shell.ExitCode(err); code > 0 {
		return cli.Exit("", code)
	}
	return fmt.Errorf("supervise: %w", err)
}

func checkName(c *cli.Context, name string) error {
	if err := bundle.ValidateName(name); err != nil {
		return cliargs.Usage(c, "%v", err)
	}
	return nil
}

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
func HostCommand(runner func(*cli.Context) shell.Runner, where func(*cli.Context) job.Where) *cli.Command {
	h := host{runner: runner, where: where}
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
				Action: func(c *cli.Context) error { return h.ls(c) },
			},
			{
				Name: "approve", Usage: "approve a request (an egress host is allowed at once)",
				ArgsUsage: "NAME ID", Flags: []cli.Flag{note},
				Action: func(c *cli.Context) error { return h.decide(c, "approve") },
			},
			{
				Name: "deny", Usage: "deny a request",
				ArgsUsage: "NAME ID", Flags: []cli.Flag{note},
				Action: func(c *cli.Context) error { return h.decide(c, "deny") },
			},
			{
				Name: "watch", Usage: "print requests as they arrive, until interrupted",
				ArgsUsage: "NAME",
				Action:    func(c *cli.Context) error { return h.watch(c) },
			},
		},
	}
}

// host runs the operator's verbs from the host.
type host struct {
	runner func(*cli.Context) shell.Runner
	where  func(*cli.Context) job.Where
}

// OperatorArgv runs an in-bundle operator verb in the bottle's bundle
// (docker exec or kubectl exec); interactive attaches stdin.
func OperatorArgv(b job.BundleRef, interactive bool, verb ...string) []string {
	// watch: stdin EOF tells the bundle side the host went away
	return b.ExecArgv(interactive, append([]string{bundle.Binary, "sidecar", bundle.Supervise}, verb...)...)
}

func (h host) ls(c *cli.Context) error {
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
	return h.run(c, pos[0], verb)
}

func (h host) decide(c *cli.Context, verb string) error {
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
	return h.run(c, pos[0], args)
}

func (h host) watch(c *cli.Context) error {
	pos, err := cliargs.Positional(c, "NAME")
	if err != nil {
		return err
	}
	if err := checkName(c, pos[0]); err != nil {
		return err
	}
	ref, err := job.LocateBundle(c.Context, h.runner(c), pos[0], h.where(c))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := shell.Cmd{
		Argv:   OperatorArgv(ref, true, "watch", "--exit-on-eof"),
		Stdin:  c.App.Reader,
		Stdout: c.App.Writer,
		Stderr: c.App.ErrWriter,
	}
	err = h.runner(c).Run(ctx, cmd)
	if ctx.Err() != nil && c.Context.Err() == nil {
		return nil // interrupted: the normal way to stop watching
	}
	return operatorError(err)
}

// run runs one operator command in bottle's bundle with its output
// streamed through, once the bundle is found (job.LocateBundle): docker's
// own "No such container" would reach stderr in its words.
func (h host) run(c *cli.Context, bottle string, verb []string) error {
	ref, err := job.LocateBundle(c.Context, h.runner(c), bottle, h.where(c))
	if err != nil {
		return err
	}
	cmd := shell.Cmd{Argv: OperatorArgv(ref, false, verb...), Stdout: c.App.Writer, Stderr: c.App.ErrWriter}
	return operatorError(h.runner(c).Run(c.Context, cmd))
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

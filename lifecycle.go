package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/cliargs"
	"github.com/claude-bottle/claude-bottle/display"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/shell"
)

func lsCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:         "ls",
		Usage:        "list bottles: name, backend, state, the agent's state, created, published ports",
		OnUsageError: usageError,
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &launch.InputError{Msg: "ls takes no arguments"}
			}
			bottles, err := d.bottles(c).List(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(d.stdout)
				enc.SetEscapeHTML(false) // "->" in ports stays readable
				enc.SetIndent("", "  ")
				return enc.Encode(bottles)
			}
			tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tBACKEND\tSTATE\tAGENT\tCREATED\tPORTS")
			for _, b := range bottles {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Backend, b.State, b.Agent, b.Created, strings.Join(b.Ports, ", "))
			}
			return tw.Flush()
		},
	}
}

func stopCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:         "stop",
		Usage:        "bring the agent's work home (fetch), then remove everything of the bottle (quietly when it is gone)",
		ArgsUsage:    "NAME",
		OnUsageError: usageError,
		Flags: []cli.Flag{dryRunFlag,
			&cli.BoolFlag{Name: "discard", Usage: "remove without fetching the agent's work first: the work is lost"}},
		Action: func(c *cli.Context) error {
			pos, err := cliargs.Positional(c, "NAME") // stop NAME --discard works too
			if err != nil {
				return err
			}
			name := pos[0]
			if err := launch.ValidateNameIn(name, d.where(c)); err != nil {
				return err
			}
			if !c.Bool("discard") {
				res, err := launch.KeepWorkBeforeStop(c.Context, d.runner(c), name, d.where(c), dryRun(c))
				if err != nil {
					return err // the bottle stays
				}
				if res != nil && !dryRun(c) {
					report(c, d, name, res)
				}
			}
			removed, err := d.bottles(c).Stop(c.Context, name)
			if !dryRun(c) {
				for _, r := range removed {
					fmt.Fprintf(d.stdout, "removed %s\n", r)
				}
			}
			return err
		},
	}
}

func logsCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:         "logs",
		Usage:        "show the bundle's log (its daemons' output, prefixed by daemon), or with --agent the agent's terminal",
		ArgsUsage:    "NAME [--follow | --agent]",
		OnUsageError: usageError,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines"},
			&cli.BoolFlag{Name: "agent", Usage: "print the text of the agent's terminal (a detached launch's session: scrollback and screen)"}},
		Action: func(c *cli.Context) error {
			name, err := nameArg(c, d.where(c))
			if err != nil {
				return err
			}
			if c.Bool("agent") {
				return agentLogs(c, d, name)
			}
			// First the bundle: docker's own "No such container" would
			// reach stderr twice, in its words.
			ref, err := job.LocateBundle(c.Context, d.runner(c), name, d.where(c))
			if err != nil {
				return err
			}
			argv := ref.LogsArgv(c.Bool("follow"))
			// The daemons log what the guest sent them: every byte that is
			// not printable is shown escaped, never sent to the terminal.
			stdout, stderr := display.NewLineWriter(d.stdout), display.NewLineWriter(d.stderr)
			err = d.runner(c).Run(c.Context, shell.Cmd{Argv: argv, Stdout: stdout, Stderr: stderr})
			stdout.Close()
			stderr.Close()
			if err != nil && c.Context.Err() == nil {
				return fmt.Errorf("logs %s: %w", name, err)
			}
			return nil
		},
	}
}

func doctorCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:         "doctor",
		Usage:        "check docker, smolvm, /dev/kvm and the images; exit non-zero when a launch would fail",
		OnUsageError: usageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "agent-image", Value: defaultAgentImage, EnvVars: []string{"CLAUDE_BOTTLE_AGENT_IMAGE"}},
			&cli.StringFlag{Name: "bundle-image", Value: defaultBundleImage, EnvVars: []string{"CLAUDE_BOTTLE_BUNDLE_IMAGE"}},
		},
		Action: func(c *cli.Context) error {
			env := launch.DoctorEnv{Backend: c.String("backend"), AgentImage: c.String("agent-image"),
				BundleImage: c.String("bundle-image"), KVM: d.kvm, Getenv: d.getenv, Cluster: d.where(c).Cluster}
			if runtime.GOOS != "linux" {
				env.KVM = nil
			}
			if launch.PrintChecks(d.stdout, launch.Doctor(c.Context, d.runner(c), env)) {
				return cli.Exit("doctor: a launch with --backend "+env.Backend+" would fail (see the fixes above)", exitFailed)
			}
			return nil
		},
	}
}

// bottles acts on existing bottles for ls and stop.
func (d *deps) bottles(c *cli.Context) *launch.Bottles {
	w := d.where(c)
	return &launch.Bottles{R: d.runner(c), Log: logger(c), Locks: d.bottleLocks(c), Smolvm: w.Smolvm, Serial: d.serial || dryRun(c),
		Kube: w.Backend == launch.Kubernetes, Cluster: w.Cluster}
}

// where is where a command looks for bottles: --backend, smolvm when it is
// installed, the cluster for kubernetes.
func (d *deps) where(c *cli.Context) job.Where {
	return job.Where{Backend: c.String("backend"), Smolvm: d.smolvmWanted(c),
		Cluster: kube.Cluster{Context: c.String("kube-context"), Prefix: c.String("namespace-prefix")}}
}

// smolvmWanted: ls and stop also look at smolvm machines when the backend is
// smolmachines or smolvm is installed.
func (d *deps) smolvmWanted(c *cli.Context) bool {
	return c.String("backend") == launch.Smolmachines || d.lookPath("smolvm") != ""
}

// lookPath finds an executable on claude-bottle's PATH.
func (d *deps) lookPath(name string) string {
	path, _ := d.getenv("PATH")
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// kvm reports why /dev/kvm cannot be opened read-write, or "".
func (d *deps) kvm() string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err.Error()
	}
	f.Close()
	return ""
}

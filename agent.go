package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/cliargs"
	"github.com/claude-bottle/claude-bottle/display"
	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/launch"
)

// The agent of a detached launch runs in a session in the guest
// (job/session.go): attach joins it, wait waits for it, logs --agent
// prints its terminal.

func attachCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "join the agent of a detached bottle on this terminal (Ctrl-b d leaves it running)",
		ArgsUsage: "NAME",
		Description: "Joins the agent's terminal session in the guest. Ctrl-b d detaches and leaves\n" +
			"the agent running; when the agent exits, attach ends. Exits 0 either way (wait\n" +
			"gives the agent's status); says so when the agent has already exited.",
		OnUsageError: usageError,
		Flags:        []cli.Flag{dryRunFlag},
		Action:       func(c *cli.Context) error { return runAttach(c, d) },
	}
}

func waitCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait until the agent of a detached bottle exits, and exit with its status",
		ArgsUsage: "NAME",
		Description: "Blocks until the agent exits and exits with its status (128+N after signal N).\n" +
			"Fails (exit 1) when the bottle is gone or has no agent session.",
		OnUsageError: usageError,
		Flags:        []cli.Flag{dryRunFlag},
		Action:       func(c *cli.Context) error { return runWait(c, d) },
	}
}

// locateAgent reads NAME (flags may follow it) and finds its agent.
func locateAgent(c *cli.Context, d *deps) (job.Bottle, error) {
	name, err := nameArg(c, d.where(c))
	if err != nil {
		return job.Bottle{}, err
	}
	b, err := job.Locate(c.Context, d.runner(c), name, d.where(c))
	if err != nil && !errors.Is(err, job.ErrUnknownBottle) { // that one says it all
		return job.Bottle{}, fmt.Errorf("%s: %w", c.Command.Name, err)
	}
	return b, err
}

func runAttach(c *cli.Context, d *deps) error {
	b, err := locateAgent(c, d)
	if err != nil {
		return err
	}
	r, log := d.runner(c), logger(c)
	st, err := job.State(c.Context, r, b)
	switch {
	case dryRun(c):
	case err != nil:
		return fmt.Errorf("attach %s: %w", b.Name, err)
	case st.State == job.None:
		return fmt.Errorf("attach %s: %w", b.Name, job.ErrNoSession)
	case st.State == job.Exited:
		log.Infof("the agent of bottle %s has exited with status %d: nothing to attach to (claude-bottle logs %s --agent prints its terminal)", b.Name, st.Code, b.Name)
		return nil
	case !d.tty:
		return fmt.Errorf("attach %s: the agent runs, but claude-bottle's stdin is not a terminal to attach it to (claude-bottle logs %s --agent prints its terminal)", b.Name, b.Name)
	default:
		log.Infof("attaching to the agent of bottle %s: Ctrl-b d detaches and leaves it running", b.Name)
	}
	if err := job.Attach(c.Context, r, b); err != nil {
		if c.Context.Err() != nil {
			return c.Context.Err()
		}
		return fmt.Errorf("attach %s: %w", b.Name, err)
	}
	if dryRun(c) {
		return nil
	}
	if st, err = job.State(c.Context, r, b); err == nil && st.State == job.Exited {
		log.Infof("the agent of bottle %s exited with status %d (claude-bottle %slogs %s --agent prints its terminal)", b.Name, st.Code, launch.GlobalFlags(d.where(c)), b.Name)
	} else {
		log.Infof("detached: the agent of bottle %s runs on (claude-bottle %sattach %s joins it again)", b.Name, launch.GlobalFlags(d.where(c)), b.Name)
	}
	return nil
}

func runWait(c *cli.Context, d *deps) error {
	b, err := locateAgent(c, d)
	if err != nil {
		return err
	}
	r := d.runner(c)
	st, err := job.Wait(c.Context, r, b, dryRun(c))
	if err != nil {
		if c.Context.Err() != nil {
			return c.Context.Err()
		}
		if gone(c, d, b) {
			return fmt.Errorf("wait %s: the bottle is gone (it was removed while waiting)", b.Name)
		}
		return fmt.Errorf("wait %s: %w", b.Name, err)
	}
	switch {
	case dryRun(c):
		return nil
	case st.State == job.None:
		return fmt.Errorf("wait %s: %w", b.Name, job.ErrNoSession)
	}
	logger(c).Infof("the agent of bottle %s exited with status %d", b.Name, st.Code)
	if st.Code != 0 {
		return &launch.AgentExit{Code: st.Code}
	}
	return nil
}

// gone reports whether the bottle's agent is gone, after a command in it
// failed: a stop kills the guest before it removes it, so the guest may
// still be listed for a moment (found: docker inspect still showed the
// container when wait's exec had died with it).
func gone(c *cli.Context, d *deps, b job.Bottle) bool {
	for range 10 {
		_, err := job.Locate(c.Context, d.runner(c), b.Name, d.where(c))
		if errors.Is(err, job.ErrUnknownBottle) {
			return true
		}
		select {
		case <-c.Context.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
	return false
}

// agentLogs is logs NAME --agent: the text of the agent's terminal, its
// scrollback and screen, every byte made visible (it is the guest's).
func agentLogs(c *cli.Context, d *deps, name string) error {
	if c.Bool("follow") {
		return &launch.InputError{Msg: "logs: --follow is for the bundle's log; --agent prints the agent's terminal as it is now"}
	}
	r := d.runner(c)
	b, err := job.Locate(c.Context, r, name, d.where(c))
	if err != nil && !errors.Is(err, job.ErrUnknownBottle) {
		return fmt.Errorf("logs: %w", err)
	}
	if err != nil {
		return err
	}
	out := display.NewLineWriter(d.stdout)
	err = job.Logs(c.Context, r, b, out)
	out.Close()
	if err != nil && c.Context.Err() == nil {
		return fmt.Errorf("logs %s --agent: %w", name, err)
	}
	return nil
}

// nameArg is the command's one argument, NAME, validated; flags may follow
// it (`logs NAME --agent`).
func nameArg(c *cli.Context, w job.Where) (string, error) {
	pos, err := cliargs.Positional(c, "NAME")
	if err != nil {
		return "", err
	}
	if c.NArg() > 1 && !strings.HasPrefix(c.Args().Get(1), "-") {
		return "", cliargs.Usage(c, "unexpected argument %q", c.Args().Get(1))
	}
	return pos[0], launch.ValidateNameIn(pos[0], w)
}

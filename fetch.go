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

func fetchCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "bring the bottle's branches and uncommitted work into the host repository as bottle/NAME/…",
		ArgsUsage: "NAME",
		Description: "Each branch B of the guest's workspace becomes refs/remotes/bottle/NAME/B, what the\n" +
			"agent left uncommitted a snapshot commit refs/remotes/bottle/NAME/uncommitted (its\n" +
			"parent is the guest's HEAD). Nothing else of the host repository changes. Only\n" +
			"objects the host lacks travel; each is checked, and so is every ref name.",
		OnUsageError: usageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "repo", Usage: "the host repository (default: the one the bottle was launched with, --cwd)"},
			&cli.BoolFlag{Name: "prune", Usage: "remove bottle/NAME/B when the guest no longer has branch B"},
			&cli.StringFlag{Name: "max-size", Value: "512MiB", Usage: "the most the guest may send (bytes, or with K, M, G)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "how long the guest may take to send its work"},
			dryRunFlag,
		},
		Action: func(c *cli.Context) error { return runFetch(c, d) },
	}
}

func runFetch(c *cli.Context, d *deps) error {
	if c.NArg() < 1 {
		return &launch.InputError{Msg: "usage: claude-bottle fetch NAME [--repo DIR]"}
	}
	pos, err := cliargs.Positional(c, "NAME")
	if err != nil {
		return err
	}
	name := pos[0]
	if err := launch.ValidateNameIn(name, d.where(c)); err != nil {
		return err
	}
	max, err := job.ParseSize(c.String("max-size"))
	if err != nil {
		return &launch.InputError{Msg: "--max-size: " + err.Error()}
	}
	if c.Duration("timeout") <= 0 {
		return &launch.InputError{Msg: "--timeout must be positive"}
	}
	r := d.runner(c)
	b, err := job.Locate(c.Context, r, name, d.where(c))
	if err != nil {
		return err
	}
	o := job.Options{Repo: c.String("repo"), MaxSize: max, Timeout: c.Duration("timeout"),
		Prune: c.Bool("prune"), DryRun: dryRun(c)}
	res, err := job.Fetch(c.Context, r, b, o)
	if errors.Is(err, job.ErrNoRepository) {
		return &launch.InputError{Msg: "fetch " + name + ": " + err.Error()}
	}
	if err != nil {
		return fmt.Errorf("fetch %s: %w", name, err)
	}
	if !o.DryRun {
		report(c, d, name, res)
	}
	return nil
}

// report prints what the fetch did (stdout) and what it refused (warnings).
func report(c *cli.Context, d *deps, name string, res *job.Result) {
	log := logger(c)
	for _, s := range res.Skipped {
		log.Warnf("skipped the guest's ref \"%s\": %s", display.Visible(s.Name), s.Reason)
	}
	for _, k := range res.Kept {
		log.Warnf("kept %s: the guest no longer has it (--prune removes it)", strings.TrimPrefix(k, "refs/remotes/"))
	}
	log.Debugf("the guest sent %d bytes", res.Received)
	switch {
	case res.NoRepository:
		fmt.Fprintf(d.stdout, "nothing to fetch: bottle %s has no git repository in its workspace\n", name)
	case len(res.Updates) == 0:
		fmt.Fprintln(d.stdout, "nothing new")
	}
	for _, u := range res.Updates {
		fmt.Fprintln(d.stdout, u)
	}
}

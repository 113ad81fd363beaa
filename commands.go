package main

import (
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/images"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/sidecar"
	"github.com/claude-bottle/claude-bottle/supervise"
)

// Default images (built by `claude-bottle images build`).
const (
	defaultAgentImage  = images.DefaultAgentImage
	defaultBundleImage = images.DefaultBundleImage
)

func commands(d *deps) []*cli.Command {
	return []*cli.Command{
		launchCommand(d),
		lsCommand(d),
		stopCommand(d),
		fetchCommand(d),
		attachCommand(d),
		waitCommand(d),
		logsCommand(d),
		doctorCommand(d),
		images.Command(d.runner),
		supervise.HostCommand(d.runner, d.where),
		sidecar.Command(supervise.SidecarCommand()),
	}
}

func launchCommand(d *deps) *cli.Command {
	return &cli.Command{
		Name:      "launch",
		Usage:     "start a bottle and run the agent in it",
		ArgsUsage: "[-- AGENT-ARGS...]",
		Description: "Starts the bundle, the agent's guest, provisions it and runs the agent\n" +
			"attached; removes everything when the agent exits. With --detach it prints\n" +
			"the bottle's name and leaves it running.",
		OnUsageError: usageError,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "bottle name (default: workspace name or \"bottle\" plus a random suffix)"},
			&cli.StringFlag{Name: "cwd", Usage: "git repository the guest workspace starts from: HEAD and your uncommitted changes (not ignored files)"},
			&cli.BoolFlag{Name: "head-only", Usage: "with --cwd: HEAD alone, your uncommitted changes stay on the host"},
			&cli.StringFlag{Name: "prompt", Usage: "file whose text the agent starts with"},
			&cli.StringSliceFlag{Name: "skill", Usage: "skill directory, copied to ~/.claude/skills/<name>/ (repeatable)"},
			&cli.StringFlag{Name: "claude-config", Usage: "your Claude Code setup to copy in, filtered (default: $CLAUDE_CONFIG_DIR, else ~/.claude and ~/.claude.json); none: a bare Claude Code"},
			&cli.StringSliceFlag{Name: "upstream", Usage: "NAME=URL: git remote served by the gate as NAME.git (repeatable)"},
			&cli.StringSliceFlag{Name: "git-credential", Usage: "NAME=PATH: SSH key for upstream NAME, placed in the bundle only (repeatable)"},
			&cli.StringSliceFlag{Name: "upstream-policy", Usage: "NAME=force[,delete]: let pushes to upstream NAME rewrite its default branch and move tags (force), delete refs (delete) (repeatable)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts file pinning the upstreams' SSH host keys"},
			&cli.StringSliceFlag{Name: "allow-host", Usage: "host the proxy lets through besides Claude Code's own (repeatable)"},
			&cli.StringSliceFlag{Name: "allow-private", Usage: "private destination (IP, CIDR or host name) the proxy lets through and trusts past its SSRF guard (repeatable)"},
			&cli.BoolFlag{Name: "supervise", Usage: "run the supervise MCP server the agent asks for more access"},
			&cli.StringFlag{Name: "egress", Value: launch.EgressOn, Usage: "on: the model credential stays in the bundle, the guest gets a bottle token; off: it goes into the guest"},
			&cli.StringFlag{Name: "agent-image", Value: defaultAgentImage, EnvVars: []string{"CLAUDE_BOTTLE_AGENT_IMAGE"}, Usage: "agent image (smolmachines also takes a local archive)"},
			&cli.StringFlag{Name: "bundle-image", Value: defaultBundleImage, EnvVars: []string{"CLAUDE_BOTTLE_BUNDLE_IMAGE"}, Usage: "bundle image"},
			&cli.StringSliceFlag{Name: "env", Usage: "KEY=VALUE, or KEY to pass KEY's value by name (repeatable)"},
			&cli.StringFlag{Name: "smolvm-net", Value: launch.NetAuto, Usage: "smolmachines network mode: auto, tsi or virtio-net"},
			&cli.StringFlag{Name: "image-pull-policy", Value: launch.DefaultPullPolicy, Usage: "kubernetes: the Pods' imagePullPolicy (IfNotPresent, Always or Never)"},
			&cli.BoolFlag{Name: "detach", Usage: "leave the bottle running and print its name"},
			&cli.StringFlag{Name: "memory", Value: launch.DefaultAgentMemory, Usage: "the agent's memory ceiling (docker size; smolvm --mem)"},
			&cli.IntFlag{Name: "pids", Value: launch.DefaultAgentPids, Usage: "the agent container's process limit"},
			&cli.StringFlag{Name: "cpus", Value: launch.DefaultAgentCPUs, Usage: "the agent's CPUs (at most the host's)"},
			&cli.StringFlag{Name: "bundle-memory", Value: launch.DefaultBundleMemory, Usage: "the bundle's memory ceiling"},
			&cli.IntFlag{Name: "bundle-pids", Value: launch.DefaultBundlePids, Usage: "the bundle's process limit"},
			&cli.StringFlag{Name: "bundle-cpus", Value: launch.DefaultBundleCPUs, Usage: "the bundle's CPUs"},
			dryRunFlag,
		},
		Action: func(c *cli.Context) error { return runLaunch(c, d) },
	}
}

func runLaunch(c *cli.Context, d *deps) error {
	o := launch.Options{
		Backend: c.String("backend"), Name: c.String("name"), Cwd: c.String("cwd"), HeadOnly: c.Bool("head-only"),
		Prompt: c.String("prompt"), Skills: c.StringSlice("skill"), Upstreams: c.StringSlice("upstream"),
		GitCredentials: c.StringSlice("git-credential"), UpstreamPolicies: c.StringSlice("upstream-policy"), KnownHosts: c.String("known-hosts"),
		AllowHosts: c.StringSlice("allow-host"), AllowPrivate: c.StringSlice("allow-private"), Supervise: c.Bool("supervise"), Egress: c.String("egress"),
		AgentImage: c.String("agent-image"), BundleImage: c.String("bundle-image"),
		Env: c.StringSlice("env"), SmolvmNet: c.String("smolvm-net"), Detach: c.Bool("detach"),
		Cluster: d.where(c).Cluster, PullPolicy: c.String("image-pull-policy"),
		AgentArgs: c.Args().Slice(), DryRun: dryRun(c), ClaudeConfig: c.String("claude-config"),
		AgentLimits:  launch.LimitOptions{Memory: c.String("memory"), Pids: c.Int("pids"), CPUs: d.agentCPUs(c)},
		BundleLimits: launch.LimitOptions{Memory: c.String("bundle-memory"), Pids: c.Int("bundle-pids"), CPUs: c.String("bundle-cpus")},
	}
	if c.IsSet("name") {
		if err := launch.ValidateName(o.Name); err != nil {
			return err // an explicit empty name is not "no name"
		}
	}
	suffix := "dryrun"
	if !o.DryRun {
		suffix = d.suffix()
	}
	plan, err := launch.Prepare(o, d.getenv, suffix)
	if err != nil {
		return err
	}
	l := &launch.Launcher{R: d.runner(c), Log: logger(c), Out: d.stdout, TTY: d.tty, Now: d.now,
		CacheDir: d.cacheDir(), FS: d.fs, Locks: d.bottleLocks(c), Abort: d.abort, Serial: d.serial, CAs: d.cas, Steps: stepsOf(c), Getenv: d.getenv}
	if o.DryRun {
		l.FS = launch.NoFS{}
	}
	return l.Launch(c.Context, plan)
}

// agentCPUs is --cpus; its default is lowered to the host's CPU count,
// which docker refuses to exceed.
func (d *deps) agentCPUs(c *cli.Context) string {
	if !c.IsSet("cpus") && d.cpus > 0 && d.cpus < 2 { // 2: launch.DefaultAgentCPUs
		return strconv.Itoa(d.cpus)
	}
	return c.String("cpus")
}

package images

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Command is `claude-bottle images`; runner gives the command runner of the
// invocation (real, dry-run) from its context.
func Command(runner func(*cli.Context) shell.Runner) *cli.Command {
	d := DefaultOptions()
	return &cli.Command{
		Name:  "images",
		Usage: "build the bundle and agent images",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build the images with docker build (context streamed on stdin, no registry needed for local bases)",
			Description: "Builds " + DefaultBundleImage + " (the sidecar: pipelock from --pipelock-image and this\n" +
				"claude-bottle binary, or --binary) and " + DefaultAgentImage + " (Claude Code on --agent-base).\n" +
				"Base images that exist locally are used as they are; nothing is pulled unless missing.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "bundle-base", Value: d.BundleBase, Usage: "base image of the bundle (Debian-based)"},
				&cli.StringFlag{Name: "agent-base", Value: d.AgentBase, Usage: "base image of the agent (Debian-based, with node and npm)"},
				&cli.StringFlag{Name: "pipelock-image", Value: d.PipelockImage, Usage: "image holding the pipelock binary at /pipelock"},
				&cli.StringFlag{Name: "pipelock-digest", Usage: "sha256:… digest that pins --pipelock-image (passed as PIPELOCK_IMAGE=IMAGE@DIGEST)"},
				&cli.StringFlag{Name: "claude-code-version", Value: d.ClaudeCodeVersion, Usage: "npm version of @anthropic-ai/claude-code, or \"none\""},
				&cli.StringFlag{Name: "binary", Usage: "static linux claude-bottle binary for the bundle (CGO_ENABLED=0; default: this executable)"},
				&cli.StringFlag{Name: "tag-prefix", Value: d.TagPrefix, Usage: "images are tagged PREFIX/bundle:latest and PREFIX/agent:latest"},
				&cli.StringFlag{Name: "only", Usage: "build only this image: bundle or agent"},
				&cli.StringSliceFlag{Name: "label", Usage: "add a KEY=VALUE label to the images (repeatable)"},
				&cli.BoolFlag{Name: "dry-run", Usage: "print the docker build commands instead of running them (as the global --dry-run)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() > 0 {
					return fmt.Errorf("images build: unexpected argument %q", c.Args().First())
				}
				opts := Options{
					BundleBase:        c.String("bundle-base"),
					AgentBase:         c.String("agent-base"),
					PipelockImage:     c.String("pipelock-image"),
					PipelockDigest:    c.String("pipelock-digest"),
					ClaudeCodeVersion: c.String("claude-code-version"),
					Binary:            c.String("binary"),
					TagPrefix:         c.String("tag-prefix"),
					Only:              c.String("only"),
					Labels:            c.StringSlice("label"),
				}
				builds, err := Plan(opts)
				if err != nil {
					return err
				}
				return Run(c.Context, runner(c), builds)
			},
		}},
	}
}

// Command imagesbuild is `claude-bottle images build` on its own, for
// testimages/build.sh while the claude-bottle CLI does not wire the images
// command yet. Test-only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/images"
	"github.com/claude-bottle/claude-bottle/shell"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := &shell.Exec{Env: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	app := &cli.App{
		Name:     "claude-bottle",
		Commands: []*cli.Command{images.Command(func(*cli.Context) shell.Runner { return runner })},
	}
	if err := app.RunContext(ctx, append([]string{"claude-bottle", "images"}, os.Args[1:]...)); err != nil {
		fmt.Fprintln(os.Stderr, "imagesbuild:", err)
		os.Exit(1)
	}
}

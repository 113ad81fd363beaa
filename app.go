package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Exit codes (README "Exit codes").
const (
	exitOK        = 0
	exitFailed    = 1 // a command claude-bottle ran failed, or teardown did
	exitBadInput  = 2 // rejected before any command ran
	exitInterrupt = 128
)

// deps are claude-bottle's connections to the world, passed in.
type deps struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// testRunner, when set, replaces the real or dry-run runner (tests).
	testRunner shell.Runner
	now        func() time.Time
	suffix     func() string
	tty        bool
	// fs is what a real launch does to host files itself (the image cache).
	fs launch.HostFS
	// cpus is the host's CPU count (0: unknown), for --cpus' default.
	cpus int
	// abort is closed on a second SIGINT/SIGTERM.
	abort <-chan struct{}
	// locks, when set, replaces the bottle locks under the cache (tests).
	locks launch.Locks
}

func (d *deps) getenv(k string) (string, bool) {
	for i := len(d.environ) - 1; i >= 0; i-- {
		if name, v, ok := strings.Cut(d.environ[i], "="); ok && name == k {
			return v, true
		}
	}
	return "", false
}

// Main runs the CLI with the process's streams and environment and returns
// the exit code. SIGINT and SIGTERM cancel the running command; the launch
// tears down and Main returns 130 or 143. A second signal stops the
// teardown's waiting: Main names what is left and returns 1.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	abort := make(chan struct{})
	go func() {
		s := <-sigs
		cancel(signalError{s.(syscall.Signal)})
		<-sigs
		close(abort)
	}()
	d := &deps{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ, abort: abort,
		now: time.Now, suffix: randomSuffix, tty: isTerminal(stdin), fs: launch.OSFS{}, cpus: runtime.NumCPU()}
	return run(ctx, args, d)
}

type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "interrupted by " + e.sig.String() }

// run is Main without the process: tests call it with a recorder.
func run(ctx context.Context, args []string, d *deps) int {
	app := newApp(d)
	err := app.RunContext(ctx, args)
	return exitCode(ctx, err, d.stderr)
}

// exitCode prints err once and maps it to the exit code table.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	var sig signalError
	interrupted := errors.As(context.Cause(ctx), &sig)
	var td *launch.TeardownError
	if interrupted && errors.As(err, &td) {
		// Something is left: not the status of a clean interruption.
		fmt.Fprintf(stderr, "claude-bottle: %v\nclaude-bottle: %v\n", sig, td)
		return exitFailed
	}
	if interrupted {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "claude-bottle: %v\n", err)
		}
		fmt.Fprintf(stderr, "claude-bottle: %v\n", sig)
		return exitInterrupt + int(sig.sig)
	}
	if err == nil {
		return exitOK
	}
	var agent *launch.AgentExit
	if errors.As(err, &agent) && !errors.As(err, &td) {
		return agent.Code
	}
	fmt.Fprintf(stderr, "claude-bottle: %v\n", err)
	var bad *launch.InputError
	var exit cli.ExitCoder
	var failed *exec.ExitError
	switch {
	case errors.As(err, &bad):
		return exitBadInput
	case errors.As(err, &failed):
		// A command claude-bottle ran failed: exit 1 (README). Its status
		// is in the message; *exec.ExitError is a cli.ExitCoder too, and
		// would pass for claude-bottle's own (found: a failed docker step
		// exited 125, a wait on a stopped bottle 137).
		return exitFailed
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return exitFailed
}

func randomSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// usageError turns urfave/cli's usage errors into bad input (exit 2).
func usageError(_ *cli.Context, err error, _ bool) error {
	return &launch.InputError{Msg: err.Error()}
}

func newApp(d *deps) *cli.App {
	app := &cli.App{
		Name:  "claude-bottle",
		Usage: "run a coding agent in a bottle whose only way out is a sidecar bundle",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "backend", Value: launch.Docker, EnvVars: []string{"CLAUDE_BOTTLE_BACKEND"},
				Usage: "where the agent runs: docker or smolmachines"},
			&cli.BoolFlag{Name: "dry-run", EnvVars: []string{"CLAUDE_BOTTLE_DRY_RUN"},
				Usage: "print the commands (a shell script) instead of running them"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"CLAUDE_BOTTLE_LOG_LEVEL"},
				Usage: "debug, info, warning or error"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"CLAUDE_BOTTLE_LOG_FORMAT"},
				Usage: "text or json"},
		},
		Before:                    func(c *cli.Context) error { return setUp(c, d) },
		Commands:                  commands(d),
		Reader:                    d.stdin,
		Writer:                    d.stdout,
		ErrWriter:                 d.stderr,
		OnUsageError:              usageError,
		DisableSliceFlagSeparator: true, // --upstream values may hold commas
		ExitErrHandler:            func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(d.stderr, "claude-bottle: unknown command %q (see claude-bottle --help)\n", name)
		},
	}
	return app
}

// setUp configures logging and checks the global flags before any command.
func setUp(c *cli.Context, d *deps) error {
	log := logrus.New()
	log.SetOutput(d.stderr)
	lvl, err := logrus.ParseLevel(c.String("log-level"))
	if err != nil {
		return &launch.InputError{Msg: fmt.Sprintf("invalid --log-level %q: want debug, info, warning or error", c.String("log-level"))}
	}
	log.SetLevel(lvl)
	switch c.String("log-format") {
	case "text":
		log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return &launch.InputError{Msg: fmt.Sprintf("invalid --log-format %q: want text or json", c.String("log-format"))}
	}
	if err := launch.CheckBackend(c.String("backend")); err != nil {
		return err
	}
	c.App.Metadata = map[string]any{"log": log}
	return nil
}

// logger is the logrus logger setUp made.
func logger(c *cli.Context) *logrus.Logger {
	if l, ok := c.App.Metadata["log"].(*logrus.Logger); ok {
		return l
	}
	return logrus.New()
}

// runner is the runner for this invocation: injected, dry-run or real.
func (d *deps) runner(c *cli.Context) shell.Runner {
	switch {
	case d.testRunner != nil:
		return d.testRunner
	case dryRun(c):
		return &shell.DryRun{W: d.stdout}
	}
	return &shell.Exec{Env: d.environ, Stdin: d.stdin, Stdout: d.stdout, Stderr: d.stderr, Log: logger(c)}
}

// cacheDir is claude-bottle's cache ($XDG_CACHE_HOME or ~/.cache).
func (d *deps) cacheDir() string {
	if v, ok := d.getenv("XDG_CACHE_HOME"); ok && v != "" {
		return filepath.Join(v, "claude-bottle")
	}
	if v, ok := d.getenv("HOME"); ok && v != "" {
		return filepath.Join(v, ".cache", "claude-bottle")
	}
	return ""
}

// bottleLocks are the locks that make a launch and a stop of one name
// take turns: files under the cache; none in a dry-run.
func (d *deps) bottleLocks(c *cli.Context) launch.Locks {
	switch {
	case d.locks != nil:
		return d.locks
	case dryRun(c):
		return launch.NoLocks{}
	}
	dir := d.cacheDir()
	if dir != "" {
		dir = filepath.Join(dir, "locks")
	}
	return launch.FileLocks{Dir: dir, Waiting: func(holder string) {
		logger(c).Infof("waiting for the lock (held by %s)", orAnother(holder))
	}}
}

func orAnother(holder string) string {
	if holder == "" {
		return "another claude-bottle"
	}
	return holder
}

// dryRunFlag is the --dry-run a command accepts after its name too
// (`claude-bottle images build --dry-run`), as well as the global one.
var dryRunFlag = &cli.BoolFlag{Name: "dry-run", Usage: "print the commands instead of running them (as the global --dry-run)"}

// dryRun reports whether this invocation is a dry-run: the command's own
// --dry-run or the global one. urfave/cli reads the nearest definition
// only, so each context of the lineage is asked.
func dryRun(c *cli.Context) bool {
	for _, x := range c.Lineage() {
		if x.Bool("dry-run") {
			return true
		}
	}
	return false
}

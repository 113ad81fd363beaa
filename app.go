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

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/progress"
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
	// tty: stdin is a terminal (the agent gets one). errTTY: stderr is,
	// where the launch draws its steps.
	tty, errTTY bool
	// fs is what a real launch does to host files itself (the image cache).
	fs launch.HostFS
	// cpus is the host's CPU count (0: unknown), for --cpus' default.
	cpus int
	// abort is closed on a second SIGINT/SIGTERM.
	abort <-chan struct{}
	// locks, when set, replaces the bottle locks under the cache (tests).
	locks launch.Locks
	// serial runs a launch's independent steps (and a teardown's removals)
	// one after the other, in one order: the golden transcripts need it.
	serial bool
	// cas, when set, makes the bottle's CAs (tests: fixed ones, for
	// transcripts that do not change).
	cas func(now time.Time, egress bool) (bundle.CAs, error)
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
	return runProcess(args, processDeps(stdin, stdout, stderr, environ))
}

// processDeps are the deps of a claude-bottle process.
func processDeps(stdin io.Reader, stdout, stderr io.Writer, environ []string) *deps {
	return &deps{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ,
		now: time.Now, suffix: randomSuffix, tty: isTerminal(stdin), errTTY: isTerminal(stderr), fs: launch.OSFS{}, cpus: runtime.NumCPU()}
}

// runProcess is Main with its deps: the signals cancel the command.
func runProcess(args []string, d *deps) int {
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
	d.abort = abort
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
	if msg := err.Error(); msg != "" { // an operator command's status: it said why
		fmt.Fprintf(stderr, "claude-bottle: %s\n", msg)
	}
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

func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
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
				Usage: "where the agent runs: docker, smolmachines or kubernetes"},
			&cli.StringFlag{Name: "kube-context", EnvVars: []string{"CLAUDE_BOTTLE_KUBE_CONTEXT"},
				Usage: "kubernetes: kubectl's context (default: its current one)"},
			&cli.StringFlag{Name: "namespace-prefix", Value: kube.DefaultPrefix, EnvVars: []string{"CLAUDE_BOTTLE_NAMESPACE_PREFIX"},
				Usage: "kubernetes: a bottle's namespace is this prefix and its name"},
			&cli.BoolFlag{Name: "dry-run", EnvVars: []string{"CLAUDE_BOTTLE_DRY_RUN"},
				Usage: "print the commands (a shell script) instead of running them"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"CLAUDE_BOTTLE_LOG_LEVEL"},
				Usage: "debug, info, warning or error"},
			&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"CLAUDE_BOTTLE_LOG_FORMAT"},
				Usage: "text or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, EnvVars: []string{"CLAUDE_BOTTLE_QUIET"},
				Usage: "show no progress and no info messages (warnings and errors still)"},
		},
		Before:                    func(c *cli.Context) error { return setUp(c, d) },
		Commands:                  commands(d),
		Reader:                    d.stdin,
		Writer:                    d.stdout,
		ErrWriter:                 d.stderr,
		OnUsageError:              usageError,
		DisableSliceFlagSeparator: true, // --upstream values may hold commas
		ExitErrHandler:            func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) { // claude-bottle help NAME
			fmt.Fprintf(d.stderr, "claude-bottle: unknown command %q (see claude-bottle --help)\n", name)
		},
		Version:              version,
		EnableBashCompletion: true, // the hidden --generate-bash-completion the completion scripts call
	}
	app.Commands = append(app.Commands, completionCommand(app))
	refuseUnknown(app.Name, &app.Action, app.Commands)
	return app
}

// version is claude-bottle's version: `make build` sets it (-ldflags -X).
var version = "dev"

// refuseUnknown makes an unknown command bad input (exit 2): urfave/cli
// prints help for it and succeeds, so a script would not see its typo.
// Without arguments, a command that only groups others shows its help.
func refuseUnknown(path string, action *cli.ActionFunc, cmds []*cli.Command) {
	if *action == nil {
		*action = func(c *cli.Context) error {
			if c.Args().Present() {
				return &launch.InputError{Msg: fmt.Sprintf("unknown command %q (see %s --help)", c.Args().First(), path)}
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
	for _, cmd := range cmds {
		if len(cmd.Subcommands) > 0 {
			refuseUnknown(path+" "+cmd.Name, &cmd.Action, cmd.Subcommands)
		}
	}
}

// setUp configures logging and the launch's progress, and checks the global
// flags, before any command. On a terminal (stderr) messages read as
// sentences above the steps drawn as they run; elsewhere, and in JSON, each
// step is one log record once done. At debug level the output is the
// log's alone, as it was (every command, each step's duration); --quiet
// shows no steps and no info messages.
func setUp(c *cli.Context, d *deps) error {
	log := logrus.New()
	log.SetOutput(d.stderr)
	lvl, err := logrus.ParseLevel(c.String("log-level"))
	if err != nil {
		return &launch.InputError{Msg: fmt.Sprintf("invalid --log-level %q: want debug, info, warning or error", c.String("log-level"))}
	}
	if c.Bool("quiet") && lvl == logrus.InfoLevel {
		lvl = logrus.WarnLevel
	}
	log.SetLevel(lvl)
	var steps launch.Steps
	switch c.String("log-format") {
	case "text":
		log.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
		steps = progress.Log{L: log}
		if d.errTTY && lvl < logrus.DebugLevel {
			t := progress.NewTerminal(d.stderr)
			log.SetOutput(t) // messages above the steps running
			log.SetFormatter(progress.Sentences{})
			steps = t
		}
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
		steps = progress.Log{L: log}
	default:
		return &launch.InputError{Msg: fmt.Sprintf("invalid --log-format %q: want text or json", c.String("log-format"))}
	}
	if c.Bool("quiet") || lvl >= logrus.DebugLevel {
		steps = nil // debug logs each step's duration already
	}
	if err := launch.CheckBackend(c.String("backend")); err != nil {
		return err
	}
	c.App.Metadata = map[string]any{"log": log, "steps": steps}
	return nil
}

// stepsOf is how setUp shows a launch's steps (nil: not at all).
func stepsOf(c *cli.Context) launch.Steps {
	s, _ := c.App.Metadata["steps"].(launch.Steps)
	return s
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

package supervise

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/cliargs"
	"github.com/claude-bottle/claude-bottle/display"
)

// idPattern is a request ID: r1, r2, …
var idPattern = regexp.MustCompile(`^r[1-9][0-9]{0,8}$`)

// SidecarCommand is `claude-bottle sidecar supervise`, run inside the
// bundle: `serve` is the MCP server daemon; `ls`, `approve`, `deny` and
// `watch` are the operator commands the host runs through `docker exec`.
func SidecarCommand() *cli.Command {
	return &cli.Command{
		Name:  bundle.Supervise,
		Usage: "supervise MCP server and operator commands (inside the bundle)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: bundle.SuperviseDir, Usage: "the daemon's store directory (requests, timeouts, deliveries)"},
			&cli.StringFlag{Name: "decisions-dir", Value: bundle.SuperviseDecisionsDir, Usage: "the operator's store directory (approvals, denials; only root writes it)"},
			&cli.StringFlag{Name: "spec", Value: bundle.SpecPath, Usage: "bundle spec (the launch's allowlist)"},
			&cli.StringFlag{Name: "pipelock-config", Value: bundle.PipelockConfigPath, Usage: "pipelock config to re-render"},
			&cli.StringFlag{Name: "pipelock-pid", Value: bundle.PidPath(bundle.Pipelock), Usage: "pipelock PID file (SIGHUP reloads)"},
			&cli.StringFlag{Name: "listen-file", Value: bundle.ListenPath, Usage: "the address the bundle's daemons listen on"},
		},
		Subcommands: []*cli.Command{
			serveCommand(),
			{
				Name: "ls", Usage: "list requests (--all: the whole audit log)",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "all", Usage: "print every request and decision event with its time"},
					&cli.BoolFlag{Name: "json", Usage: "one JSON object per line"},
				},
				Action: lsAction,
			},
			decideCommand(true),
			decideCommand(false),
			{
				Name: "watch", Usage: "print pending requests, then new ones as they arrive, until interrupted",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "exit-on-eof", Usage: "also stop when stdin closes (docker exec -i: the host side went away)"},
					&cli.DurationFlag{Name: "poll", Value: DefaultPoll, Hidden: true},
				},
				Action: watchAction,
			},
		},
	}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the supervise MCP server (a daemon of the bundle)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: fmt.Sprintf(":%d", bundle.SupervisePort), Usage: "listen address"},
			&cli.DurationFlag{Name: "deadline", Value: DefaultDeadline, Usage: "how long a call waits for the operator"},
			&cli.DurationFlag{Name: "heartbeat", Value: DefaultHeartbeat, Usage: "interval of progress notifications and SSE keep-alive comments"},
			&cli.StringFlag{Name: "secret-file", Value: bundle.DaemonSecretPath(bundle.Supervise), Usage: "the bottle's secret, which every request's path must start with"},
		},
		Action: serveAction,
	}
}

func decideCommand(approve bool) *cli.Command {
	name, usage := "deny", "deny a pending request"
	if approve {
		name, usage = "approve", "approve a pending request (an egress host is allowed at once)"
	}
	return &cli.Command{
		Name: name, Usage: usage, ArgsUsage: "ID",
		Flags:  []cli.Flag{&cli.StringFlag{Name: "note", Usage: "note for the agent"}},
		Action: func(c *cli.Context) error { return decideAction(c, approve) },
	}
}

func allowlistOf(c *cli.Context) Allowlist {
	return Allowlist{SpecPath: c.String("spec"), ConfigPath: c.String("pipelock-config"), PidPath: c.String("pipelock-pid"),
		ListenPath: c.String("listen-file")}
}

func serveAction(c *cli.Context) error {
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logrus.WithField("daemon", bundle.Supervise)
	// No re-applying of approved hosts here: the daemon cannot write
	// pipelock's config (the init renders the approvals into it at start).
	store, err := open(c.String("dir"), c.String("decisions-dir"), log)
	if err != nil {
		return err
	}
	secret, err := bundle.ReadSecret(c.String("secret-file"))
	if err != nil {
		return fmt.Errorf("serve supervise: %w", err)
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return fmt.Errorf("serve supervise: %w", err)
	}
	log.Infof("listening on %s", ln.Addr())
	srv := NewServer(store, Options{Deadline: c.Duration("deadline"), Heartbeat: c.Duration("heartbeat"), Secret: secret, Log: log})
	return srv.Serve(ctx, ln)
}

// openStore opens the store of --dir and --decisions-dir; its warnings
// (a skipped audit line) go to the command's stderr.
func openStore(c *cli.Context) (*Store, error) {
	log := logrus.New()
	log.SetOutput(c.App.ErrWriter)
	log.SetFormatter(logrus.StandardLogger().Formatter)
	return open(c.String("dir"), c.String("decisions-dir"), log)
}

func lsAction(c *cli.Context) error {
	if _, err := cliargs.Positional(c); err != nil {
		return err
	}
	store, err := openStore(c)
	if err != nil {
		return err
	}
	w := c.App.Writer
	switch {
	case c.Bool("all") && c.Bool("json"):
		return printJSON(w, store.Events())
	case c.Bool("all"):
		return printEvents(w, store.Events())
	case c.Bool("json"):
		return printJSON(w, store.Requests())
	default:
		return printRequests(w, store.Requests())
	}
}

func decideAction(c *cli.Context, approve bool) error {
	pos, err := cliargs.Positional(c, "ID")
	if err != nil {
		return err
	}
	id := pos[0]
	if !idPattern.MatchString(id) {
		return cliargs.Usage(c, "bad request ID %q (want r1, r2, …)", id)
	}
	store, err := openStore(c)
	if err != nil {
		return err
	}
	al := allowlistOf(c)
	r, err := store.Decide(id, approve, c.String("note"), time.Now().UTC(), func(r Request, hosts []string) error {
		if !approve || r.Host == "" {
			return nil
		}
		_, err := al.Apply(hosts)
		return err
	})
	if err != nil {
		return cli.Exit(display.Visible(err.Error()), 1) // it quotes the agent's subject
	}
	fmt.Fprintln(c.App.Writer, decisionLine(r))
	return nil
}

func watchAction(c *cli.Context) error {
	if _, err := cliargs.Positional(c); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.Bool("exit-on-eof") {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() { io.Copy(io.Discard, c.App.Reader); cancel() }()
	}
	store, err := openStore(c)
	if err != nil {
		return err
	}
	return watch(ctx, store, c.App.Writer, c.Duration("poll"))
}

// decisionLine says what a decision did, with the exact host it added.
func decisionLine(r Request) string {
	msg := fmt.Sprintf("%s %s (%s %s)", r.Status, r.ID, r.Kind, display.Visible(r.Subject))
	if r.Status == StatusApproved && r.Host != "" {
		msg += "; added host " + r.Host + " to pipelock's allowlist"
	}
	return msg
}

// watch prints the pending requests, then every new request, until ctx ends.
func watch(ctx context.Context, store *Store, w io.Writer, poll time.Duration) error {
	reqs := store.Requests()
	for _, r := range reqs {
		if r.Pending() {
			printWatchLine(w, r)
		}
	}
	seen := len(reqs)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := store.Refresh(); err != nil {
			return err
		}
		reqs = store.Requests()
		for _, r := range reqs[seen:] {
			printWatchLine(w, r)
		}
		seen = len(reqs)
	}
}

// printWatchLine prints one request as tab-separated fields (none holds a
// tab: display escapes it).
func printWatchLine(w io.Writer, r Request) {
	fields := []string{r.ID, stamp(r.Asked), r.Kind, hostCell(r), r.Subject, r.Reason}
	for i, f := range fields {
		fields[i] = display.Visible(f)
	}
	fmt.Fprintln(w, strings.Join(fields, "\t"))
}

func printRequests(w io.Writer, reqs []Request) error {
	rows := [][]string{{"ID", "STATUS", "ASKED", "KIND", "HOST", "SUBJECT", "REASON", "NOTE"}}
	for _, r := range reqs {
		rows = append(rows, []string{r.ID, r.Status, stamp(r.Asked), r.Kind, hostCell(r), r.Subject, r.Reason, r.Note})
	}
	return printTable(w, rows)
}

// hostCell is the host an approval adds (or added): "-" for none, and a
// warning where approve refuses (the reason is in --json and in approve's
// error).
func hostCell(r Request) string {
	switch {
	case r.Problem != "":
		return "(approve refuses)"
	case r.Host == "":
		return "-"
	default:
		return r.Host
	}
}

func printEvents(w io.Writer, events []Event) error {
	rows := [][]string{{"TIME", "EVENT", "ID", "KIND", "HOST", "SUBJECT", "REASON/NOTE"}}
	for _, e := range events {
		text := e.Reason
		if e.Type != EventRequest {
			text = e.Note
		}
		rows = append(rows, []string{stamp(e.Time), e.Type, e.ID, e.Kind, e.Host, e.Subject, text})
	}
	return printTable(w, rows)
}

// printTable prints aligned columns, each cell made visible (one line, no
// control or formatting characters), without trailing blanks.
func printTable(w io.Writer, rows [][]string) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = display.Visible(cell)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// printJSON prints one JSON object per line, escaped by display.
func printJSON[T any](w io.Writer, items []T) error {
	enc := display.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return fmt.Errorf("print json: %w", err)
		}
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

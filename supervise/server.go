// Package supervise lets the agent ask and the operator answer. In the
// bundle, an MCP server (Streamable HTTP, port 9100) offers the agent tools
// that queue a request and wait for the operator's decision; the operator
// answers with `claude-bottle supervise approve|deny`, which runs the
// in-bundle operator commands through `docker exec`. Requests and decisions
// live in an append-only audit log (Store); an approved host is added to
// pipelock's allowlist live (Allowlist).
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/sirupsen/logrus"
)

// Defaults of Options.
const (
	DefaultDeadline  = 10 * time.Minute
	DefaultHeartbeat = 15 * time.Second
	DefaultPoll      = 250 * time.Millisecond
)

// Options tune a Server; zero values take the defaults.
type Options struct {
	// Deadline is how long one call waits for the operator.
	Deadline time.Duration
	// Heartbeat is the interval of progress notifications (when the client
	// sent a progress token) and of SSE keep-alive comments.
	Heartbeat time.Duration
	// Poll is how often a waiting call re-reads the store for a decision
	// (the operator commands are another process).
	Poll time.Duration
	// MaxWaits caps the calls that wait at once; one more is refused at
	// once (DefaultMaxWaits).
	MaxWaits int
	// Secret is the bottle's: requests must start their path with it
	// (guardSecret). "" serves any path (in-process tests); the serve
	// command always sets it.
	Secret string
	Log    logrus.FieldLogger
}

func (o Options) withDefaults() Options {
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.MaxWaits <= 0 {
		o.MaxWaits = DefaultMaxWaits
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Log = l
	}
	return o
}

// Server is the supervise MCP server over a Store.
type Server struct {
	store *Store
	opts  Options
	log   logrus.FieldLogger
	mcp   *mcp.Server
	now   func() time.Time
	calls inflight      // calls over HTTP, by JSON-RPC ID
	waits chan struct{} // one token per waiting call (MaxWaits)

	stop     chan struct{}
	stopOnce sync.Once
}

// NewServer builds the MCP server and registers its tools.
func NewServer(store *Store, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{store: store, opts: opts, log: opts.Log, now: func() time.Time { return time.Now().UTC() },
		waits: make(chan struct{}, opts.MaxWaits), stop: make(chan struct{})}
	// No ServerOptions.KeepAlive: a client that does not answer pings would
	// have its session closed, in-flight call and all. Waiting calls are kept
	// alive with progress notifications and SSE comments instead.
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "supervise", Version: "v1"}, &mcp.ServerOptions{
		Instructions: "Ask the human operator of this sandbox for network access or anything else you need. " +
			"Each tool waits for the operator's answer.",
	})
	s.addTools(s.mcp)
	return s
}

// MCP is the underlying MCP server (for in-memory transports in tests).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Handler serves MCP over Streamable HTTP on any path.
//
// Stateless: nothing the server needs lives in an MCP session, so a
// restarted server serves clients of the old one without a new initialize.
// In front of the SDK: the bottle's secret in the path (guardSecret), the
// Host and Origin check (guardHosts), the body
// limit and the tracking of calls that ends a wait when its request ends
// or is cancelled (track), the keep-alive comments (keepAlive).
func (s *Server) Handler() http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp },
		&mcp.StreamableHTTPOptions{
			Stateless:                    true,
			PropagateRequestCancellation: true, // protocol 2026-07-28: the SDK ends the call with its POST too
			MaxRequestBodyBytes:          MaxBody,
			// guardHosts replaces the SDK's guard, which only checks requests
			// that arrive on loopback, and then wants a loopback Host.
			DisableLocalhostProtection: true,
		})
	guarded := guardHosts(s.track(keepAlive(h, s.opts.Heartbeat)), s.log)
	if s.opts.Secret == "" {
		return guarded
	}
	return guardSecret(guarded, s.opts.Secret, s.log)
}

// Close ends every waiting call (their requests stay pending in the store).
func (s *Server) Close() { s.stopOnce.Do(func() { close(s.stop) }) }

// Serve serves on ln until ctx ends, then closes waiting calls and shuts the
// HTTP server down.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve supervise: %w", err)
	case <-ctx.Done():
	}
	s.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve supervise: %w", err)
	}
	return nil
}

// wait blocks until r is decided, the deadline passes, the call is
// cancelled (by the SDK, by the end of its HTTP request or by a
// notifications/cancelled in another POST) or the server closes. At most
// MaxWaits calls wait at once.
func (s *Server) wait(ctx context.Context, req *mcp.CallToolRequest, r Request) (Answer, error) {
	if !r.Pending() {
		return s.deliver(r), nil
	}
	select {
	case s.waits <- struct{}{}:
		defer func() { <-s.waits }()
	default:
		return Answer{}, fmt.Errorf("%d calls are already waiting for the operator, supervise's limit is %d; %s stays pending: call again once one of them is answered",
			s.opts.MaxWaits, s.opts.MaxWaits, r.ID)
	}
	if hctx, ok := callContext(ctx); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(hctx, cancel)()
	}
	start := s.now()
	deadline := time.NewTimer(s.opts.Deadline)
	defer deadline.Stop()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	beat := time.NewTicker(s.opts.Heartbeat)
	defer beat.Stop()
	s.progress(ctx, req, r, start)
	for {
		select {
		case <-poll.C:
			if err := s.store.Refresh(); err != nil {
				s.log.WithError(err).Warn("refresh supervise store")
				continue
			}
			if cur, ok := s.store.Get(r.ID); ok && !cur.Pending() {
				return s.deliver(cur), nil
			}
		case <-beat.C:
			s.progress(ctx, req, r, start)
		case <-deadline.C:
			if err := s.store.TimedOut(r.ID, s.now()); err != nil {
				s.log.WithError(err).Warn("record timeout")
			}
			return timeoutAnswer(r, s.opts.Deadline), nil
		case <-ctx.Done():
			return Answer{}, fmt.Errorf("wait for %s: %w", r.ID, ctx.Err())
		case <-s.stop:
			return Answer{}, fmt.Errorf("supervise is restarting; %s stays pending: call again with the same arguments to keep waiting", r.ID)
		}
	}
}

// deliver records that the decision reached the agent and returns it.
func (s *Server) deliver(r Request) Answer {
	if err := s.store.Delivered(r.ID, s.now()); err != nil {
		s.log.WithError(err).Warn("record delivery")
	}
	return answerOf(r)
}

// progress notifies the client that the call is still waiting, if it asked
// for progress (sent a progress token).
func (s *Server) progress(ctx context.Context, req *mcp.CallToolRequest, r Request, start time.Time) {
	tok := req.Params.GetProgressToken()
	if tok == nil || req.Session == nil {
		return
	}
	err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
		ProgressToken: tok,
		Progress:      s.now().Sub(start).Seconds(),
		Total:         s.opts.Deadline.Seconds(),
		Message:       fmt.Sprintf("waiting for the operator to answer %s", r.ID),
	})
	if err != nil {
		s.log.WithError(err).Debug("progress notification")
	}
}

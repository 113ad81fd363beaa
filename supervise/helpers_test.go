package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// hups counts the SIGHUPs this test process received: the fixtures make the
// test process stand in for pipelock (its PID is in the pid file).
var hups atomic.Int64

func TestMain(m *testing.M) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			hups.Add(1)
		}
	}()
	os.Exit(m.Run())
}

// testOptions keep the tests fast.
var testOptions = Options{Deadline: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond, Poll: 10 * time.Millisecond}

// fixture is a bundle in a temp dir: store (requests and decisions), spec,
// pipelock config and pid.
type fixture struct {
	dir, decisions string
	spec           bundle.Spec
	allowlist      Allowlist
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: filepath.Join(dir, "supervise"), decisions: filepath.Join(dir, "supervise-decisions"),
		spec: bundle.Spec{Bottle: "b1", Daemons: []string{bundle.Pipelock, bundle.Supervise},
			AllowHosts: bundle.AllowHosts([]string{"launch.example"})},
		allowlist: Allowlist{
			SpecPath:   filepath.Join(dir, "bundle.json"),
			ConfigPath: filepath.Join(dir, "pipelock.yaml"),
			PidPath:    filepath.Join(dir, "pipelock.pid"),
			ListenPath: filepath.Join(dir, "listen-address"),
		}}
	write(t, f.allowlist.ListenPath, "127.0.0.1\n")
	write(t, f.allowlist.SpecPath, string(f.spec.Marshal()))
	write(t, f.allowlist.ConfigPath, string(f.pipelockConfig()))
	write(t, f.allowlist.PidPath, strconv.Itoa(os.Getpid())+"\n")
	return f
}

// pipelockConfig is pipelock's config for the fixture's spec plus approved.
func (f fixture) pipelockConfig(approved ...string) []byte {
	return bundle.PipelockFor(f.spec, "127.0.0.1", approved)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) store(t *testing.T) *Store {
	t.Helper()
	s, err := open(f.dir, f.decisions, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// discardLog is a logger whose output nobody reads.
func discardLog() logrus.FieldLogger {
	l, _ := logtest.NewNullLogger()
	return l
}

// operator runs an in-bundle operator command (`sidecar supervise VERB…`)
// in-process and returns its stdout.
func (f fixture) operator(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name:           "claude-bottle",
		Commands:       []*cli.Command{{Name: "sidecar", Subcommands: []*cli.Command{SidecarCommand()}}},
		Reader:         strings.NewReader(""),
		Writer:         &out,
		ErrWriter:      &errOut,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	argv := append([]string{"claude-bottle", "sidecar", "supervise",
		"--dir", f.dir, "--decisions-dir", f.decisions, "--spec", f.allowlist.SpecPath,
		"--pipelock-config", f.allowlist.ConfigPath, "--pipelock-pid", f.allowlist.PidPath,
		"--listen-file", f.allowlist.ListenPath}, args...)
	err := app.Run(argv)
	return out.String(), err
}

func (f fixture) mustOperator(t *testing.T, args ...string) string {
	t.Helper()
	out, err := f.operator(t, args...)
	if err != nil {
		t.Fatalf("operator %v: %v", args, err)
	}
	return out
}

// awaitRequest waits until the store holds request id.
func (f fixture) awaitRequest(t *testing.T, id string) Request {
	t.Helper()
	s := f.store(t)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if err := s.Refresh(); err != nil {
			t.Fatal(err)
		}
		if r, ok := s.Get(id); ok {
			return r
		}
	}
	t.Fatalf("request %s never arrived", id)
	return Request{}
}

// swapHandler lets a test replace the server behind one URL (a restart).
type swapHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swapHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// serve starts srv behind an httptest server and connects an SDK client
// over Streamable HTTP.
func serve(t *testing.T, srv *Server, copts *mcp.ClientOptions) (*mcp.ClientSession, *swapHandler) {
	t.Helper()
	url, sw := serveURL(t, srv)
	return connect(t, url, copts, nil), sw
}

// serveURL starts srv behind an httptest server (closed at cleanup, after
// srv is closed so that no call is left waiting).
func serveURL(t *testing.T, srv *Server) (string, *swapHandler) {
	t.Helper()
	sw := &swapHandler{h: srv.Handler()}
	ts := httptest.NewServer(sw)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	return ts.URL, sw
}

func connect(t *testing.T, url string, copts *mcp.ClientOptions, sopts *mcp.ClientSessionOptions) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, copts)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// result is one finished tool call.
type result struct {
	answer Answer
	res    *mcp.CallToolResult
	err    error
}

func call(cs *mcp.ClientSession, params *mcp.CallToolParams) result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, params)
	if err != nil {
		return result{err: err}
	}
	if res.IsError {
		return result{res: res, err: errors.New(text(res))}
	}
	var a Answer
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &a); err != nil {
		return result{res: res, err: err}
	}
	return result{answer: a, res: res}
}

// callAsync starts a call and returns where its result arrives.
func callAsync(cs *mcp.ClientSession, tool string, args map[string]any) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- call(cs, &mcp.CallToolParams{Name: tool, Arguments: args}) }()
	return ch
}

func text(res *mcp.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); ok {
		return tc.Text
	}
	return ""
}

func receive(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("call never returned")
		return result{}
	}
}

func toolCall(tool string, args map[string]any) *mcp.CallToolParams {
	return &mcp.CallToolParams{Name: tool, Arguments: args}
}

func egress(host string) map[string]any {
	return map[string]any{"host": host, "reason": "fetch docs"}
}

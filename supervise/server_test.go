package supervise

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestApproveEgress(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions.with(time.Minute)), nil)
	before := hups.Load()

	ch := callAsync(cs, ToolRequestEgress, egress("Docs.Example.org."))
	r := f.awaitRequest(t, "r1")
	if r.Kind != KindEgress || r.Host != "docs.example.org" || r.Reason != "fetch docs" {
		t.Fatalf("queued %+v", r)
	}
	select {
	case res := <-ch:
		t.Fatalf("call returned before the operator answered: %+v", res)
	case <-time.After(100 * time.Millisecond):
	}
	out := f.mustOperator(t, "approve", "r1", "--note", "go ahead")
	if !strings.Contains(out, "approved r1") {
		t.Errorf("approve printed %q", out)
	}

	res := receive(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := Answer{ID: "r1", Decision: DecisionApproved, Note: "go ahead",
		Message: "Approved (r1): docs.example.org is now on the proxy's allowlist; retry your request. Operator's note: go ahead"}
	if res.answer != want {
		t.Errorf("answer\n got %+v\nwant %+v", res.answer, want)
	}
	if text(res.res) != want.Message {
		t.Errorf("text content %q", text(res.res))
	}
	awaitHUP(t, before)
	assertAllowed(t, f, "docs.example.org")
}

func TestDenyWithNote(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions.with(time.Minute)), nil)
	config := read(t, f.allowlist.ConfigPath)

	ch := callAsync(cs, ToolRequestCapability, map[string]any{"description": "install\tjq"})
	f.awaitRequest(t, "r1")
	f.mustOperator(t, "deny", "--note=use python instead", "r1")

	res := receive(t, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.answer.Decision != DecisionDenied || res.answer.Note != "use python instead" ||
		!strings.Contains(res.answer.Message, "Operator's note: use python instead") {
		t.Errorf("answer %+v", res.answer)
	}
	if got := read(t, f.allowlist.ConfigPath); got != config {
		t.Error("a denial changed pipelock's config")
	}
}

func TestDeadline(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions), nil)

	start := time.Now()
	res := call(cs, &mcp.CallToolParams{Name: ToolRequestEgress, Arguments: egress("slow.example.org")})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if took := time.Since(start); took < testOptions.Deadline || took > testOptions.Deadline+2*time.Second {
		t.Errorf("returned after %s, deadline %s", took, testOptions.Deadline)
	}
	if res.answer.Decision != DecisionTimeout || res.answer.ID != "r1" {
		t.Errorf("answer %+v", res.answer)
	}
	s := f.store(t)
	if r, _ := s.Get("r1"); !r.Pending() {
		t.Errorf("after a timeout r1 is %s, want pending", r.Status)
	}
	if ev := s.Events(); len(ev) != 2 || ev[1].Type != EventTimeout {
		t.Errorf("audit log %+v", ev)
	}

	// A later call for the same host waits on the same request.
	ch := callAsync(cs, ToolRequestEgress, egress("slow.example.org"))
	time.Sleep(50 * time.Millisecond)
	f.mustOperator(t, "approve", "r1")
	if res := receive(t, ch); res.err != nil || res.answer.ID != "r1" || res.answer.Decision != DecisionApproved {
		t.Errorf("second call: %+v", res)
	}
}

func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions.with(time.Minute)), nil)

	first := callAsync(cs, ToolRequestEgress, egress("one.example.org"))
	f.awaitRequest(t, "r1")
	second := callAsync(cs, ToolReportBlock, map[string]any{"url": "https://two.example.org:8443/x?y", "reason": "npm install"})
	if r := f.awaitRequest(t, "r2"); r.Host != "two.example.org" || r.Subject != "https://two.example.org:8443/x?y" {
		t.Fatalf("r2 = %+v", r)
	}

	f.mustOperator(t, "approve", "r2", "--note", "ok")
	res := receive(t, second)
	if res.err != nil || res.answer.ID != "r2" || res.answer.Decision != DecisionApproved {
		t.Fatalf("second: %+v", res)
	}
	select {
	case res := <-first:
		t.Fatalf("first returned on r2's decision: %+v", res)
	case <-time.After(50 * time.Millisecond):
	}
	f.mustOperator(t, "deny", "r1")
	if res := receive(t, first); res.err != nil || res.answer.ID != "r1" || res.answer.Decision != DecisionDenied {
		t.Fatalf("first: %+v", res)
	}
	assertAllowed(t, f, "two.example.org")
	assertNotAllowed(t, f, "one.example.org")
}

func TestServerRestart(t *testing.T) {
	f := newFixture(t)
	s1 := NewServer(f.store(t), testOptions.with(time.Minute))
	cs, sw := serve(t, s1, nil)

	ch := callAsync(cs, ToolRequestEgress, egress("restart.example.org"))
	f.awaitRequest(t, "r1")
	// The server goes down: the waiting call ends, the request stays pending.
	s1.Close()
	sw.set(nil)
	res := receive(t, ch)
	if res.err == nil || !strings.Contains(res.err.Error(), "r1 stays pending") {
		t.Fatalf("call across shutdown: %+v", res)
	}
	// The operator answers while it is down.
	f.mustOperator(t, "approve", "r1", "--note", "while you were out")

	// A new server over the same store; the same client session calls again
	// (stateless: no new initialize) and gets the decision at once.
	s2 := NewServer(f.store(t), testOptions.with(time.Minute))
	t.Cleanup(s2.Close)
	sw.set(s2.Handler())
	res = call(cs, &mcp.CallToolParams{Name: ToolRequestEgress, Arguments: egress("restart.example.org")})
	if res.err != nil || res.answer.ID != "r1" || res.answer.Decision != DecisionApproved || res.answer.Note != "while you were out" {
		t.Fatalf("after restart: %+v", res)
	}
	// Delivered: asking again is a new request.
	s3 := NewServer(f.store(t), testOptions)
	t.Cleanup(s3.Close)
	sw.set(s3.Handler())
	res = call(cs, &mcp.CallToolParams{Name: ToolRequestEgress, Arguments: egress("restart.example.org")})
	if res.err != nil || res.answer.ID != "r2" || res.answer.Decision != DecisionTimeout {
		t.Fatalf("asking again: %+v", res)
	}
	out := f.mustOperator(t, "ls")
	for _, want := range []string{"r1  approved", "r2  pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls lacks %q:\n%s", want, out)
		}
	}
}

func TestProgressNotifications(t *testing.T) {
	f := newFixture(t)
	var n atomic.Int64
	copts := &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		if req.Params.ProgressToken == "tok" && strings.Contains(req.Params.Message, "r1") {
			n.Add(1)
		}
	}}
	cs, _ := serve(t, NewServer(f.store(t), testOptions), copts)
	res := call(cs, &mcp.CallToolParams{Name: ToolRequestEgress, Arguments: egress("p.example.org"), Meta: mcp.Meta{"progressToken": "tok"}})
	if res.err != nil || res.answer.Decision != DecisionTimeout {
		t.Fatalf("%+v", res)
	}
	if got := n.Load(); got < 3 {
		t.Errorf("%d progress notifications in %s at %s intervals", got, testOptions.Deadline, testOptions.Heartbeat)
	}
}

// TestLegacyProtocol: a client that initializes with an older protocol (as
// Claude Code may) gets the same service, keep-alive comments included.
func TestLegacyProtocol(t *testing.T) {
	f := newFixture(t)
	url, _ := serveURL(t, NewServer(f.store(t), testOptions.with(time.Minute)))
	cs := connect(t, url, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	if v := cs.InitializeResult().ProtocolVersion; v != "2025-06-18" {
		t.Fatalf("negotiated %s", v)
	}
	ch := callAsync(cs, ToolRequestEgress, egress("legacy.example.org"))
	f.awaitRequest(t, "r1")
	time.Sleep(4 * testOptions.Heartbeat) // let keep-alive comments flow
	f.mustOperator(t, "approve", "r1")
	if res := receive(t, ch); res.err != nil || res.answer.Decision != DecisionApproved {
		t.Fatalf("%+v", res)
	}
}

func TestBadArguments(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions), nil)
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{ToolRequestEgress, egress("https://example.org"), "bare hostname"},
		{ToolRequestEgress, egress("*.example.org"), "bare hostname"},
		{ToolRequestEgress, egress("example.org:443"), "bare hostname"},
		{ToolRequestEgress, map[string]any{"reason": "x"}, "host"},
		{ToolReportBlock, map[string]any{"url": "https:///nohost", "reason": "x"}, "no host"},
		// Finding 4: ls showed pypi.org, approve added evil-exfil.com.
		{ToolReportBlock, map[string]any{"url": "https://pypi.org@evil-exfil.com/simple/", "reason": "pip"}, "userinfo"},
		{ToolRequestCapability, map[string]any{"description": "  "}, "empty"},
	} {
		res := call(cs, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if res.err == nil || !strings.Contains(res.err.Error(), c.want) {
			t.Errorf("%s %v: got %v, want error with %q", c.tool, c.args, res.err, c.want)
		}
	}
	if reqs := f.store(t).Requests(); len(reqs) != 0 {
		t.Errorf("bad arguments queued %+v", reqs)
	}
}

// TestFieldLimits: each field of the agent's has a cap, and a refusal
// names it; nothing is queued (finding 7).
func TestFieldLimits(t *testing.T) {
	f := newFixture(t)
	cs, _ := serve(t, NewServer(f.store(t), testOptions), nil)
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{ToolRequestEgress, map[string]any{"host": long(MaxHost-3) + ".org", "reason": "x"}, "host is 254 bytes long; supervise's limit is 253"},
		{ToolRequestEgress, map[string]any{"host": "a.example.org", "reason": long(MaxReason + 1)}, "reason is 2049 bytes long; supervise's limit is 2048"},
		{ToolReportBlock, map[string]any{"url": "https://a.example.org/" + long(MaxURL), "reason": "x"}, "supervise's limit is 2048"},
		{ToolReportBlock, map[string]any{"url": "https://a.example.org/", "reason": long(MaxReason + 1)}, "reason is 2049 bytes"},
		{ToolRequestCapability, map[string]any{"description": long(MaxDescription + 1)}, "description is 4097 bytes long; supervise's limit is 4096"},
	} {
		res := call(cs, toolCall(c.tool, c.args))
		if res.err == nil || !strings.Contains(res.err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.tool, res.err, c.want)
		}
	}
	if reqs := f.store(t).Requests(); len(reqs) != 0 {
		t.Errorf("over-long fields queued %d requests", len(reqs))
	}
	// At the limits, a request is queued.
	res := call(cs, toolCall(ToolRequestCapability, map[string]any{"description": long(MaxDescription)}))
	if res.err != nil || res.answer.Decision != DecisionTimeout {
		t.Errorf("a description of %d bytes: %+v", MaxDescription, res)
	}
}

// TestBodyLimit: a body over MaxBody gets 413 with a message naming the
// limit (it was 4 MiB, the SDK's default).
func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	url, _ := serveURL(t, NewServer(f.store(t), testOptions))
	body := rpcCall(t, 1, ToolRequestCapability, map[string]any{"description": strings.Repeat("x", MaxBody)})
	status, msg := mustPost(t, url, body, nil)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "larger than 65536 bytes (supervise's limit)") {
		t.Errorf("%d bytes: %d %q", len(body), status, msg)
	}
	if reqs := f.store(t).Requests(); len(reqs) != 0 {
		t.Errorf("an oversized body queued %+v", reqs)
	}
}

// TestInMemory drives the tools over the SDK's in-memory transport.
func TestInMemory(t *testing.T) {
	f := newFixture(t)
	srv := NewServer(f.store(t), testOptions)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if !strings.Contains(tool.Description, "operator") {
			t.Errorf("%s: description does not mention the operator: %q", tool.Name, tool.Description)
		}
	}
	if got := strings.Join(names, " "); got != "report_block request_capability request_egress" {
		t.Errorf("tools: %s", got)
	}
	ch := callAsync(cs, ToolRequestCapability, map[string]any{"description": "a GPU"})
	f.awaitRequest(t, "r1")
	f.mustOperator(t, "approve", "r1", "--note", "attached")
	if res := receive(t, ch); res.err != nil || res.answer != (Answer{ID: "r1", Decision: DecisionApproved, Note: "attached",
		Message: "Approved (r1). Operator's note: attached"}) {
		t.Fatalf("%+v", res)
	}
}

func (o Options) with(deadline time.Duration) Options {
	o.Deadline = deadline
	return o
}

func awaitHUP(t *testing.T, before int64) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if hups.Load() > before {
			return
		}
	}
	t.Fatal("pipelock (this process) got no SIGHUP")
}

package supervise

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestWaitsEndWithTheirRequests: calls whose clients went away stop waiting
// at once, and the goroutines they held are gone (finding 11: 19,000
// dropped calls held 1.58 GB and 70,977 goroutines for the whole deadline).
// Over real HTTP on loopback, with a client of the 2025-06-18 protocol (the
// SDK only ties a call to its POST from 2026-07-28 on). Twice: no growth.
func TestWaitsEndWithTheirRequests(t *testing.T) {
	f := newFixture(t)
	srv := NewServer(f.store(t), testOptions.with(time.Minute))
	url, _ := serveURL(t, srv)
	const n = 20
	baseline := runtime.NumGoroutine()
	for round := range 2 {
		ctx, drop := context.WithCancel(context.Background())
		ended := make(chan error, n)
		for i := range n {
			host := fmt.Sprintf("h%d-%d.example.org", round, i)
			go func() {
				resp, err := rawPost(ctx, url, rpcCall(t, i, ToolRequestEgress, egress(host)), nil)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				ended <- err
			}()
		}
		awaitWaits(t, srv, n)
		drop()
		for range n {
			<-ended
		}
		start := time.Now()
		awaitWaits(t, srv, 0)
		t.Logf("round %d: %d waits ended %s after their clients went away", round, n, time.Since(start))
		awaitGoroutines(t, baseline+5)
	}
	if pending := len(f.store(t).Requests()); pending != 2*n {
		t.Errorf("%d requests, want %d: the requests stay pending", pending, 2*n)
	}
}

// TestCancelledInAnotherPOST: a notifications/cancelled that arrives in a
// POST of its own (stateless: a session of its own) ends the call it names,
// and only that one.
func TestCancelledInAnotherPOST(t *testing.T) {
	f := newFixture(t)
	srv := NewServer(f.store(t), testOptions.with(time.Minute))
	url, _ := serveURL(t, srv)
	streams := map[any]<-chan string{}
	for _, id := range []any{7, "seven"} {
		streams[id] = openCall(t, url, rpcCall(t, id, ToolRequestEgress, egress(fmt.Sprintf("c%v.example.org", id))))
	}
	awaitWaits(t, srv, 2)

	if status, body := mustPost(t, url, rpcCancel(t, 7.0), nil); status != http.StatusAccepted {
		t.Fatalf("cancel: %d %q", status, body)
	}
	select {
	case <-streams[7]:
	case <-time.After(2 * time.Second):
		t.Fatal("the cancelled call is still waiting")
	}
	select {
	case out := <-streams["seven"]:
		t.Fatalf("the call with ID \"seven\" ended too: %q", out)
	case <-time.After(100 * time.Millisecond):
	}
	awaitWaits(t, srv, 1)
}

// TestMaxWaits: one call more than MaxWaits is refused at once, naming the
// limit; a call whose request is decided needs no slot.
func TestMaxWaits(t *testing.T) {
	f := newFixture(t)
	opts := testOptions.with(time.Minute)
	opts.MaxWaits = 2
	srv := NewServer(f.store(t), opts)
	cs, _ := serve(t, srv, nil)
	var waiting []<-chan result
	for i := range 2 {
		waiting = append(waiting, callAsync(cs, ToolRequestEgress, egress(fmt.Sprintf("w%d.example.org", i))))
	}
	awaitWaits(t, srv, 2)
	start := time.Now()
	res := call(cs, toolCall(ToolRequestEgress, egress("w2.example.org")))
	if res.err == nil || !strings.Contains(res.err.Error(), "supervise's limit is 2") || time.Since(start) > time.Second {
		t.Fatalf("third call: %v after %s", res.err, time.Since(start))
	}
	f.mustOperator(t, "deny", "r3")
	if res := call(cs, toolCall(ToolRequestEgress, egress("w2.example.org"))); res.err != nil || res.answer.Decision != DecisionDenied {
		t.Errorf("a decided request: %+v", res)
	}
	srv.Close()
	for _, ch := range waiting {
		receive(t, ch)
	}
}

func TestRPCIDs(t *testing.T) {
	for _, c := range []struct {
		body, calls, cancels string
	}{
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}}`, "[n3]", "[]"},
		{`{"jsonrpc":"2.0","id":"3","method":"tools/call"}`, "[s3]", "[]"},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, "[]", "[]"},
		{`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3.0}}`, "[]", "[n3]"},
		{` [{"id":1,"method":"tools/call"},{"method":"notifications/cancelled","params":{"requestId":"x"}}]`, "[n1]", "[sx]"},
		{`{"id":null,"method":"tools/call"}`, "[]", "[]"},
		{`not json`, "[]", "[]"},
	} {
		calls, cancels := rpcIDs([]byte(c.body))
		if got := fmt.Sprint(calls); got != c.calls {
			t.Errorf("%s: calls %s, want %s", c.body, got, c.calls)
		}
		if got := fmt.Sprint(cancels); got != c.cancels {
			t.Errorf("%s: cancels %s, want %s", c.body, got, c.cancels)
		}
	}
}

// openCall posts a call and returns where the whole response arrives once
// the server ends it.
func openCall(t *testing.T, url string, body []byte) <-chan string {
	t.Helper()
	resp, err := rawPost(context.Background(), url, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		ch <- b.String()
	}()
	return ch
}

// awaitWaits waits until n calls wait for the operator.
func awaitWaits(t *testing.T, srv *Server, n int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if len(srv.waits) == n {
			return
		}
	}
	t.Fatalf("%d calls wait, want %d", len(srv.waits), n)
}

// awaitGoroutines waits until at most max goroutines run.
func awaitGoroutines(t *testing.T, max int) {
	t.Helper()
	n := runtime.NumGoroutine()
	for end := time.Now().Add(2 * time.Second); n > max && time.Now().Before(end); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > max {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, want at most %d:\n%s", n, max, buf[:runtime.Stack(buf, true)])
	}
}

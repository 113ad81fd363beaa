package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// inflight tracks the tool calls whose HTTP request is still open, by their
// JSON-RPC ID, so that a notifications/cancelled sent in another POST can
// end them. In stateless mode every POST is its own MCP session, and the
// SDK only cancels a call on a cancellation that arrives in the session of
// the call. IDs are the client's: two clients using one ID cancel each
// other's calls on a cancellation, which costs the other a call again (both
// are the one guest).
type inflight struct {
	mu    sync.Mutex
	calls map[*inflightCall]struct{}
}

type inflightCall struct {
	id     string
	cancel context.CancelFunc
}

// add registers a call and returns the function that removes it.
func (f *inflight) add(id string, cancel context.CancelFunc) func() {
	c := &inflightCall{id: id, cancel: cancel}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[*inflightCall]struct{}{}
	}
	f.calls[c] = struct{}{}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.calls, c)
	}
}

// cancel ends the calls with the given ID.
func (f *inflight) cancel(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.calls {
		if c.id == id {
			c.cancel()
		}
	}
}

// len is the number of calls in flight.
func (f *inflight) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// callContextKey carries a POST's own context into the SDK's handlers: the
// SDK gives a handler a context that outlives the HTTP request (before
// protocol 2026-07-28), but keeps the request context's values.
type callContextKey struct{}

// callContext is the context of the HTTP request that carried the call, if
// it came over HTTP: it ends when the client goes away, or when a
// notifications/cancelled for the call arrives.
func callContext(ctx context.Context) (context.Context, bool) {
	c, ok := ctx.Value(callContextKey{}).(context.Context)
	return c, ok
}

// track reads a POST's body (at most MaxBody bytes: 413 beyond), applies
// the cancellations it carries, and registers the calls it carries until
// the request ends, with a context of their own that the tools wait on.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			http.Error(w, fmt.Sprintf("supervise: read request: %v", err), http.StatusBadRequest)
			return
		}
		if len(body) > MaxBody {
			http.Error(w, fmt.Sprintf("supervise: request body larger than %d bytes (supervise's limit)", MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		calls, cancels := rpcIDs(body)
		for _, id := range cancels {
			s.calls.cancel(id)
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		for _, id := range calls {
			defer s.calls.add(id, cancel)()
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, callContextKey{}, ctx)))
	})
}

// rpcMessage is what track reads of a JSON-RPC message.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// rpcIDs returns the IDs of the tool calls in a JSON-RPC body (one message
// or a batch) and the request IDs its notifications/cancelled name. A body
// that does not parse has neither; the SDK answers it.
func rpcIDs(body []byte) (calls, cancels []string) {
	var msgs []rpcMessage
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &msgs) != nil {
			return nil, nil
		}
	} else {
		var m rpcMessage
		if json.Unmarshal(trimmed, &m) != nil {
			return nil, nil
		}
		msgs = []rpcMessage{m}
	}
	for _, m := range msgs {
		switch m.Method {
		case "tools/call":
			if id, err := idKey(m.ID); err == nil {
				calls = append(calls, id)
			}
		case "notifications/cancelled":
			if id, err := idKey(m.Params.RequestID); err == nil {
				cancels = append(cancels, id)
			}
		}
	}
	return calls, cancels
}

// idKey is a JSON-RPC ID (a string or a number) as one comparable string:
// 7, 7.0 and 7e0 are one ID, "7" another.
func idKey(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return "s" + v, nil
	case float64:
		return "n" + strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return "", errors.New("not a JSON-RPC ID")
}

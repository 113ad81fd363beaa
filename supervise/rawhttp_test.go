package supervise

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// rpcCall is the body of a JSON-RPC tools/call, as a client that skipped
// initialize sends it (stateless: nothing to initialize).
func rpcCall(t *testing.T, id any, tool string, args map[string]any) []byte {
	t.Helper()
	return rpcBody(t, map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
}

// rpcCancel is the body of notifications/cancelled for request id.
func rpcCancel(t *testing.T, id any) []byte {
	t.Helper()
	return rpcBody(t, map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
		"params": map[string]any{"requestId": id, "reason": "user hit Esc"}})
}

func rpcBody(t *testing.T, msg map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawPost sends body to url as an MCP client would (protocol 2025-06-18,
// the stateless path without a session), with the header changes of edit.
func rawPost(ctx context.Context, url string, body []byte, edit func(*http.Request)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if edit != nil {
		edit(req)
	}
	return http.DefaultClient.Do(req)
}

// mustPost is rawPost that returns the status and the whole body.
func mustPost(t *testing.T, url string, body []byte, edit func(*http.Request)) (int, string) {
	t.Helper()
	resp, err := rawPost(context.Background(), url, body, edit)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

package supervise

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestKeepAliveCommitsSSEAndBeats(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message\ndata: {}\n\n")
		http.NewResponseController(w).Flush()
	})
	ts := httptest.NewServer(keepAlive(slow, 20*time.Millisecond))
	defer ts.Close()
	status, ctype, body := post(t, ts.URL, "application/json, text/event-stream")
	if status != http.StatusOK || ctype != "text/event-stream" {
		t.Errorf("status %d, content type %q", status, ctype)
	}
	if !strings.HasPrefix(body, ": keep-alive\n\n: keep-alive\n\n") || !strings.HasSuffix(body, "event: message\ndata: {}\n\n") {
		t.Errorf("body %q", body)
	}
}

func TestKeepAliveLeavesOtherResponsesAlone(t *testing.T) {
	quick := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":1}`)
		time.Sleep(100 * time.Millisecond) // heartbeats would be due by now
	})
	ts := httptest.NewServer(keepAlive(quick, 10*time.Millisecond))
	defer ts.Close()
	for _, accept := range []string{"application/json, text/event-stream", "application/json"} {
		status, _, body := post(t, ts.URL, accept)
		if status != http.StatusBadRequest || body != `{"error":1}` {
			t.Errorf("accept %q: %d %q", accept, status, body)
		}
	}
}

func post(t *testing.T, url, accept string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

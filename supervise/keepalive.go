package supervise

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// keepAlive wraps an MCP Streamable HTTP handler so that a POST answered
// with an SSE stream never stays silent longer than every: while the handler
// has written nothing yet, it commits the SSE headers itself; after that it
// writes an SSE comment (": keep-alive") whenever the interval passes.
// Clients ignore comments; idle timeouts in between (undici's 300 s headers
// and body timeouts in Node's fetch, proxies) see traffic.
//
// The SDK writes each SSE event with one Write, and the wrapper serialises
// its writes with the handler's, so a comment never splits an event. The
// SDK only answers a POST late when it is streaming a long call over SSE, so
// committing SSE headers early cannot change what it would have sent.
func keepAlive(h http.Handler, every time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if every <= 0 || r.Method != http.MethodPost ||
			!strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			h.ServeHTTP(w, r)
			return
		}
		kw := newKeepAliveWriter(w)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			kw.beat(every, stop)
		}()
		defer func() {
			close(stop)
			<-done
			kw.close()
		}()
		// A shallow copy: the SDK replaces the request's Body, which
		// net/http reads when the heartbeat commits the headers.
		h.ServeHTTP(kw, r.WithContext(r.Context()))
	})
}

// keepAliveWriter is an http.ResponseWriter whose writes are serialised with
// the heartbeat's. The handler fills its own header map, copied out when the
// handler commits; the heartbeat never reads it (the handler may be writing
// it), it commits fixed SSE headers instead.
type keepAliveWriter struct {
	w      http.ResponseWriter
	header http.Header // the handler's; only its goroutine touches it

	mu      sync.Mutex
	started bool // headers written
	sse     bool // the response is an SSE stream
	closed  bool // the handler returned
}

func newKeepAliveWriter(w http.ResponseWriter) *keepAliveWriter {
	return &keepAliveWriter{w: w, header: http.Header{}}
}

func (k *keepAliveWriter) Header() http.Header { return k.header }

func (k *keepAliveWriter) WriteHeader(code int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.commitLocked(code, k.header)
}

func (k *keepAliveWriter) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.commitLocked(http.StatusOK, k.header)
	return k.w.Write(p)
}

// commitLocked writes the status line with the given headers, once.
func (k *keepAliveWriter) commitLocked(code int, h http.Header) {
	if k.started {
		return // ours already went out (or a superfluous call)
	}
	k.started = true
	for key, v := range h {
		k.w.Header()[key] = v
	}
	k.sse = code == http.StatusOK && strings.HasPrefix(h.Get("Content-Type"), "text/event-stream")
	k.w.WriteHeader(code)
}

// Flush flushes the underlying writer (the SDK flushes after each event).
func (k *keepAliveWriter) Flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = http.NewResponseController(k.w).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (k *keepAliveWriter) Unwrap() http.ResponseWriter { return k.w }

func (k *keepAliveWriter) close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
}

// beat writes a heartbeat every interval until stop is closed.
func (k *keepAliveWriter) beat(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !k.heartbeat() {
				return
			}
		}
	}
}

// heartbeat commits SSE headers if nothing went out yet, then writes a
// comment. It reports whether to keep beating.
func (k *keepAliveWriter) heartbeat() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return false
	}
	if !k.started {
		k.commitLocked(http.StatusOK, http.Header{
			"Content-Type":  {"text/event-stream"},
			"Cache-Control": {"no-cache, no-transform"},
		})
	}
	if !k.sse {
		return false
	}
	if _, err := io.WriteString(k.w, ": keep-alive\n\n"); err != nil {
		return false
	}
	_ = http.NewResponseController(k.w).Flush()
	return true
}

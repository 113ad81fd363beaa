// Command fakeapi plays the model API for the end-to-end suite: an HTTPS
// server that prints one JSON line per request on stdout (method, path and
// the credential headers it received, for the test to read in docker logs)
// and answers POST /v1/messages with a short server-sent event stream, as
// the Messages API does.
//
//	fakeapi -listen :8443 -cert cert.pem -key key.pem
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", ":8443", "address")
	cert := flag.String("cert", "", "certificate (PEM)")
	key := flag.String("key", "", "key (PEM)")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		enc.Encode(map[string]string{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"x-api-key": r.Header.Get("X-Api-Key"), "authorization": r.Header.Get("Authorization"),
			"anthropic-beta": r.Header.Get("Anthropic-Beta"), "body": string(body)})
		if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"fakeapi"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{"message_start", "content_block_delta", "message_stop"} {
			fmt.Fprintf(w, "event: %s\ndata: {\"type\":%q}\n\n", ev, ev)
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "fakeapi: listening on", *listen)
	if err := srv.ListenAndServeTLS(*cert, *key); err != nil {
		fmt.Fprintln(os.Stderr, "fakeapi:", err)
		os.Exit(1)
	}
}

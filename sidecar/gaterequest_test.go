package sidecar

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line string
		want gateRequest
	}{
		{"git-upload-pack /S3CRET/app.git\x00host=git-gate\x00", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app"}},
		{"git-upload-pack /S3CRET/app.git\x00host=616263.attacker.tld\x00\x00version=2\x00", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app", version: "version=2"}},
		{"git-receive-pack /S3CRET/app.git\x00host=127.0.0.1:9418\x00\x00version=1\x00", gateRequest{service: receivePack, secret: "S3CRET", repo: "app", version: "version=1"}},
		{"git-upload-pack /S3CRET/app.git\n", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app"}},
		{"git-upload-pack /S3CRET/app.git", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app"}},
		// Only version=0..2 is kept; anything else after the path is dropped.
		{"git-upload-pack /S3CRET/app.git\x00host=h\x00\x00version=3\x00", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app"}},
		{"git-upload-pack /S3CRET/app.git\x00host=h\x00\x00object-format=sha1\x00version=2\x00", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app", version: "version=2"}},
		{"git-upload-pack /S3CRET/app.git\x00version=2:host=x\x00", gateRequest{service: uploadPack, secret: "S3CRET", repo: "app"}},
	} {
		got, err := parseRequest(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("parseRequest(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseRequestRefuses(t *testing.T) {
	for line, want := range map[string]string{
		"git-upload-archive /s/app.git\x00": `service "git-upload-archive" is not served`,
		"git-upload-pack\x00host=h\x00":     "malformed request",
		"git-upload-pack app.git\x00":       "does not carry this bottle's secret",
		"git-upload-pack /app.git\x00":      "does not carry this bottle's secret",
		"git-upload-pack //app.git\x00":     "does not carry this bottle's secret",
		"git-upload-pack /s/app\x00":        `unknown repository "/app"`,
		"git-upload-pack /s/.git\x00":       "unknown repository",
		"git-upload-pack /s/app.git/\x00":   "unknown repository",
		"upload-pack /s/app.git\x00":        "is not served",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n": "is not served",
	} {
		if _, err := parseRequest(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseRequest(%q): %v, want %q", line, err, want)
		}
	}
}

func TestReadRequestBounds(t *testing.T) {
	ok := "git-upload-pack /s/app.git\x00host=h\x00"
	if req, err := readRequest(strings.NewReader(string(pktLine(ok)))); err != nil || req.repo != "app" {
		t.Errorf("readRequest of a good line: %+v, %v", req, err)
	}
	long := "git-upload-pack /s/app.git\x00host=" + strings.Repeat("a", maxRequestLen) + "\x00"
	for raw, want := range map[string]string{
		string(pktLine(long)): "request of 1057 bytes (at most 1024)",
		"0000":                "empty request",
		"0004":                "empty request",
		"GET / HTTP/1.1\r\n":  "not a pkt-line",
		"00":                  "read request: unexpected EOF",
		"0030git-upload":      "read request: unexpected EOF",
	} {
		if _, err := readRequest(strings.NewReader(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("readRequest(%q): %v, want %q", raw, err, want)
		}
	}
}

// FuzzReadRequest: whatever a guest sends as its first pkt-line, the gate
// keeps a served service, a non-empty secret and name without control
// characters (the secret without a slash), and a version among the three it
// passes on — nothing else of the line.
func FuzzReadRequest(f *testing.F) {
	f.Add(pktLine("git-upload-pack /s/app.git\x00host=616263.attacker.tld\x00\x00version=2\x00"))
	f.Add(pktLine("git-receive-pack /s/app.git\x00"))
	f.Add([]byte("ffffgit-upload-pack /a.git"))
	f.Add([]byte("0004"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := readRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if req.service != uploadPack && req.service != receivePack {
			t.Errorf("service %q", req.service)
		}
		if req.repo == "" || strings.ContainsFunc(req.repo, unicode.IsControl) {
			t.Errorf("repo %q", req.repo)
		}
		if req.secret == "" || strings.ContainsRune(req.secret, '/') || strings.ContainsFunc(req.secret, unicode.IsControl) {
			t.Errorf("secret %q", req.secret)
		}
		switch req.version {
		case "", "version=0", "version=1", "version=2":
		default:
			t.Errorf("version %q", req.version)
		}
	})
}

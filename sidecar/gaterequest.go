package sidecar

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// maxRequestLen bounds the request line a client may send (the pkt-line's
// payload): a service, a path of at most a few dozen bytes, a host name and
// a version. git's own limit (65516) would let a client make the gate read
// and hold 64 KiB per connection for nothing.
const maxRequestLen = 1024

// Services the gate runs, as a request names them.
const (
	uploadPack  = "upload-pack"
	receivePack = "receive-pack"
)

// gateRequest is what the gate keeps of a git:// request line
// ("git-upload-pack /SECRET/NAME.git\0host=…\0\0version=2\0"): the
// service, what stands where the bottle's secret must, the repository's
// name and the protocol version. host= is dropped unread.
type gateRequest struct {
	service string // uploadPack or receivePack
	secret  string // SECRET of /SECRET/NAME.git, not yet checked
	repo    string // NAME of /SECRET/NAME.git, not yet checked against the upstreams
	version string // "version=N" with N in 0..2, or "" (protocol v0)
}

// errNoSecret refuses a request without the bottle's secret. It says
// nothing of the path: what stands there may be a near miss of the secret.
var errNoSecret = errors.New("the request does not carry this bottle's secret (want /SECRET/NAME.git)")

// readRequest reads the first pkt-line of a connection and parses it.
func readRequest(r io.Reader) (gateRequest, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return gateRequest{}, fmt.Errorf("read request: %w", err)
	}
	n, err := strconv.ParseUint(string(size[:]), 16, 16)
	switch {
	case err != nil:
		return gateRequest{}, errors.New("request is not a pkt-line")
	case n <= 4:
		return gateRequest{}, errors.New("empty request")
	case n-4 > maxRequestLen:
		return gateRequest{}, fmt.Errorf("request of %d bytes (at most %d)", n-4, maxRequestLen)
	}
	line := make([]byte, n-4)
	if _, err := io.ReadFull(r, line); err != nil {
		return gateRequest{}, fmt.Errorf("read request: %w", err)
	}
	return parseRequest(string(line))
}

// parseRequest parses a request line's payload: the path is
// /SECRET/NAME.git (the gitconfig the guest got rewrites its upstreams'
// URLs to it); errors never repeat the SECRET part. Of the arguments after
// the path, only version=0, 1 or 2 is kept, as git daemon keeps the extra ones
// for GIT_PROTOCOL; the rest (host= first of all) is dropped, so nothing the
// client sends reaches a resolver, git or the log but these three fields.
func parseRequest(line string) (gateRequest, error) {
	line = strings.TrimSuffix(line, "\n") // git daemon accepts a final LF too
	command, args, _ := strings.Cut(line, "\x00")
	service, path, ok := strings.Cut(command, " ")
	if !ok {
		return gateRequest{}, errors.New("malformed request")
	}
	var req gateRequest
	switch service {
	case "git-upload-pack":
		req.service = uploadPack
	case "git-receive-pack":
		req.service = receivePack
	default:
		return gateRequest{}, fmt.Errorf("service %q is not served (only git-upload-pack and git-receive-pack)", service)
	}
	rest, rooted := strings.CutPrefix(path, "/")
	secret, repo, hasSecret := strings.Cut(rest, "/")
	if !rooted || !hasSecret || secret == "" || strings.ContainsFunc(secret, unicode.IsControl) {
		return gateRequest{}, errNoSecret
	}
	name, dotGit := strings.CutSuffix(repo, ".git")
	if !dotGit || name == "" || strings.ContainsFunc(name, unicode.IsControl) {
		// A control character is in no upstream's name: refused here, so
		// it never reaches a lookup or a log line (found by FuzzReadRequest).
		return gateRequest{}, fmt.Errorf("unknown repository %q", "/"+repo)
	}
	req.secret, req.repo = secret, name
	for _, arg := range strings.Split(args, "\x00") {
		switch arg {
		case "version=0", "version=1", "version=2":
			req.version = arg
		}
	}
	return req, nil
}

// pktLine frames s as one pkt-line.
func pktLine(s string) []byte { return fmt.Appendf(nil, "%04x%s", len(s)+4, s) }

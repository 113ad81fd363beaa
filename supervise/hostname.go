package supervise

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// NormalizeHost checks that s is a bare hostname (no scheme, port, path or
// wildcard; at least two labels) and returns it lowercased, without a
// trailing dot.
func NormalizeHost(s string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if h == "" {
		return "", errors.New("host is empty")
	}
	if strings.ContainsAny(h, ":/*?#@ ") {
		return "", fmt.Errorf("host %q: want a bare hostname such as example.com (no scheme, port, path or wildcard)", s)
	}
	if len(h) > 253 {
		return "", fmt.Errorf("host %q: longer than 253 characters", s)
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("host %q: want a fully qualified name such as example.com", s)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Errorf("host %q: invalid label %q", s, l)
		}
	}
	return h, nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// HostOfURL returns the normalized host of a blocked URL. A URL without a
// scheme is read as https. A URL with userinfo is refused: in
// https://pypi.org@evil.example/ the host is evil.example, not what a
// person reading it sees first.
func HostOfURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !schemePrefix.MatchString(s) {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.User != nil {
		return "", fmt.Errorf("url %q: has userinfo (the part before @), which hides its host %q: send the URL without it", raw, u.Hostname())
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("url %q: no host", raw)
	}
	return NormalizeHost(u.Hostname())
}

// schemePrefix is a URL's scheme and "://" (RFC 3986 §3.1).
var schemePrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

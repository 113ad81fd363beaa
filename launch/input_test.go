package launch

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	for _, ok := range []string{"a", "demo", "my_bottle-2", "A1", long} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "..", "a..b", "-a", "_a", "a-", "a--b", "a.b", "é", long + "a", "a\n"} {
		var ie *InputError
		if err := ValidateName(bad); !errors.As(err, &ie) {
			t.Errorf("ValidateName(%q) = %v, want an InputError", bad, err)
		}
	}
}

func TestParseUpstream(t *testing.T) {
	good := map[string]Upstream{
		"origin=https://github.com/acme/app.git": {Name: "origin", URL: "https://github.com/acme/app.git"},
		"o=git@github.com:acme/app.git":          {Name: "o", URL: "git@github.com:acme/app.git"},
		"o=ssh://git@host:2222/srv/app.git":      {Name: "o", URL: "ssh://git@host:2222/srv/app.git"},
		"o=git://upstream/app.git":               {Name: "o", URL: "git://upstream/app.git"},
		"o=https://h/a=b.git":                    {Name: "o", URL: "https://h/a=b.git"},
	}
	for in, want := range good {
		got, err := ParseUpstream(in)
		if err != nil || got != want {
			t.Errorf("ParseUpstream(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"origin":                      "want NAME=URL",
		"=https://h/a.git":            "empty name",
		"o=":                          "empty URL",
		"o=/srv/app.git":              "local paths",
		"o=./app":                     "local paths",
		"o=file:///srv/app.git":       `scheme "file"`,
		"o=ftp://h/a.git":             `scheme "ftp"`,
		"o=https://h":                 "SCHEME://HOST/PATH",
		"o=https://u:pw@h/a.git":      "credentials",
		"o=https://ghp_token@h/a.git": "credentials",
		"a.b=https://h/a.git":         "name must be",
		"o=not a url":                 "white space",
		"o=justaword":                 "not a git URL",
	}
	for in, want := range bad {
		_, err := ParseUpstream(in)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUpstream(%q) = %v, want an InputError with %q", in, err, want)
		}
	}
}

// FuzzParseUpstream: whatever the input, ParseUpstream either rejects it as
// bad input or returns a name and URL that round-trip and pass validation.
func FuzzParseUpstream(f *testing.F) {
	for _, s := range []string{"origin=https://github.com/acme/app.git", "o=git@h:p", "=x", "o=", "x", "o=/p", "o=ssh://h/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUpstream(s)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseUpstream(%q): %v is not an InputError", s, err)
			}
			return
		}
		if u.Name+"="+u.URL != s || !upstreamNameRE.MatchString(u.Name) || checkGitURL(u.URL) != nil {
			t.Fatalf("ParseUpstream(%q) = %+v", s, u)
		}
		if strings.ContainsAny(u.URL, " \t\n") || strings.HasPrefix(u.URL, "/") {
			t.Fatalf("ParseUpstream(%q) accepted URL %q", s, u.URL)
		}
	})
}

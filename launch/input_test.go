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

func TestParseUpstreamPolicy(t *testing.T) {
	for in, want := range map[string]UpstreamPolicy{
		"origin=force":        {Force: true},
		"origin=delete":       {Delete: true},
		"origin=force,delete": {Force: true, Delete: true},
		"origin=delete,force": {Force: true, Delete: true},
	} {
		name, got, err := ParseUpstreamPolicy(in)
		if err != nil || name != "origin" || got != want {
			t.Errorf("ParseUpstreamPolicy(%q) = %q, %+v, %v; want origin, %+v", in, name, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"origin":             "want NAME=force",
		"=force":             "want NAME=force",
		"origin=":            "want NAME=force",
		"origin=push":        `"push" is not force or delete`,
		"origin=force,":      `"" is not force or delete`,
		"origin=force,force": `"force" is not force or delete (each at most once)`,
		"origin=FORCE":       `"FORCE" is not force or delete`,
	} {
		_, _, err := ParseUpstreamPolicy(in)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUpstreamPolicy(%q) = %v, want an InputError with %q", in, err, want)
		}
	}
}

// TestUpstreamPolicyReachesTheSpec: --upstream-policy sets the named
// upstream's policy in the bundle's spec and leaves the others strict; it
// must name an --upstream, once.
func TestUpstreamPolicyReachesTheSpec(t *testing.T) {
	o := Options{Backend: Docker, Name: "p", SmolvmNet: NetAuto, AgentImage: "a", BundleImage: "b",
		Upstreams:        []string{"app=https://github.com/acme/app.git", "lib=https://github.com/acme/lib.git"},
		UpstreamPolicies: []string{"app=force,delete"},
		AgentLimits:      DefaultAgentLimits(), BundleLimits: DefaultBundleLimits()}
	getenv := func(string) (string, bool) { return "", false }
	p, err := Prepare(o, getenv, "x")
	if err != nil {
		t.Fatal(err)
	}
	ups := p.Bundle.Spec.Upstreams
	if len(ups) != 2 || !ups[0].AllowForce || !ups[0].AllowDelete || ups[1].AllowForce || ups[1].AllowDelete {
		t.Errorf("spec upstreams = %+v, want app loosened, lib strict", ups)
	}
	if !strings.Contains(string(p.Bundle.Spec.Marshal()), `"allow_force": true`) {
		t.Errorf("spec:\n%s", p.Bundle.Spec.Marshal())
	}
	for flags, want := range map[string]string{
		"nope=force":           "no --upstream named nope",
		"app=force app=delete": "app given twice",
		"lib=rewrite":          `"rewrite" is not force or delete`,
	} {
		o.UpstreamPolicies = strings.Fields(flags)
		_, err := Prepare(o, getenv, "x")
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("--upstream-policy %s: %v, want an InputError with %q", flags, err, want)
		}
	}
}

package main

import (
	"encoding/json"
	"log"
	"net/http"
	"strings"
	"testing"
)

// trustBase is the fixture's trust at start: localhost by name, 10/8 by address.
const trustBase = trustLocalhost + "ssrf:\n  ip_allowlist:\n    - \"10.0.0.0/8\"\n"

// TestReloadRefusesWideningTrust: a strict config refuses a reload that
// widens trust — an IP range, a trusted or a passthrough domain added — or
// lowers the mode or enforcement, and keeps running as it was; each
// refusal is logged as pipelock logs it. Before the rule, every one of
// these reloads took.
func TestReloadRefusesWideningTrust(t *testing.T) {
	for _, c := range []struct {
		name, from, to, warning string
	}{
		{"ip_allowlist grown", `    - "10.0.0.0/8"`, `    - "10.0.0.0/8"` + "\n" + `    - "127.0.0.0/8"`,
			"WARNING: config reload: ssrf.ip_allowlist - SSRF IP allowlist expanded: 127.0.0.0/8 — SSRF check bypassed for these IP ranges"},
		{"trusted domain added", `  - "localhost"` + "\nssrf:", `  - "localhost"` + "\n" + `  - "git.corp.test"` + "\nssrf:",
			"WARNING: config reload: trusted_domains - trusted domains added: git.corp.test — SSRF internal-IP check bypassed for these hosts"},
		{"passthrough added", `    - "*.anthropic.com"`, `    - "*.anthropic.com"` + "\n" + `    - "localhost"`,
			"WARNING: config reload: tls_interception.passthrough_domains - passthrough domains added: localhost — these CONNECT tunnels now bypass body scanning"},
		{"mode lowered", "mode: strict", "mode: balanced",
			"WARNING: config reload: mode - mode downgraded from strict to balanced"},
		{"enforcement off", "enforce: true", "enforce: false",
			"WARNING: config reload: enforce - enforcement disabled — switching to detect-only mode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureAllowing(t, trustBase, allowlisted("127.0.0.1"))
			before := f.proxy.cur.Load()
			raw, _ := readFile(f.cfgPath)
			if !strings.Contains(raw, c.from) {
				t.Fatalf("the fixture's config has no %q", c.from)
			}
			writeFile(t, f.cfgPath, strings.Replace(raw, c.from, c.to, 1))
			f.proxy.Reload("SIGHUP")
			if f.proxy.cur.Load() != before {
				t.Fatal("the reload took: the new config is in force")
			}
			logs := f.logs.String()
			if !strings.Contains(logs, c.warning+"\n") {
				t.Errorf("log lacks %q:\n%s", c.warning, logs)
			}
			var refusal map[string]string
			for _, l := range strings.Split(logs, "\n") {
				if strings.HasPrefix(l, "{") {
					if err := json.Unmarshal([]byte(l), &refusal); err != nil {
						t.Fatalf("%q: %v", l, err)
					}
				}
			}
			if refusal["event"] != "error" || refusal["method"] != "CONFIG_RELOAD" || refusal["level"] != "error" ||
				refusal["error"] != "rejected: security downgrade from strict mode" || refusal["resource"] != f.cfgPath {
				t.Errorf("refusal logged as %v", refusal)
			}
			// The old config serves: 127.0.0.1 is still refused.
			if code, body := connect(t, f, "127.0.0.1:"+f.upstreamPort()); code != http.StatusForbidden ||
				!strings.Contains(body, "SSRF blocked: 127.0.0.1 resolves to internal IP 127.0.0.1") {
				t.Errorf("after the refused reload: %d %q", code, body)
			}
		})
	}
}

// TestReloadKeepingTrust: what supervise's re-render does — a host added to
// the allowlist, the trust as it was (in any order, an IP range inside one
// already trusted) — reloads; so does narrowing trust; and a config that is
// not strict takes a widening (pipelock refuses downgrades from strict only).
func TestReloadKeepingTrust(t *testing.T) {
	f := newFixture(t, "", trustBase)
	raw, _ := readFile(f.cfgPath)
	approved := strings.Replace(raw, `  - "localhost"`+"\n", `  - "localhost"`+"\n"+`  - "approved.test"`+"\n", 1)
	approved = strings.Replace(approved, `    - "10.0.0.0/8"`, `    - "10.1.0.0/16"`+"\n"+`    - "10.0.0.0/8"`, 1)
	writeFile(t, f.cfgPath, approved)
	f.reloadNow(t)
	if strings.Contains(f.logs.String(), "rejected") {
		t.Errorf("a reload keeping trust was refused:\n%s", f.logs)
	}
	if !f.proxy.cur.Load().cfg.allowed("approved.test") {
		t.Error("the approved host is not on the allowlist after the reload")
	}
	// Narrowing: localhost is no longer trusted, so it is refused.
	narrowed := strings.Replace(approved, trustLocalhost, "", 1)
	if narrowed == approved {
		t.Fatal("no trusted_domains to drop")
	}
	writeFile(t, f.cfgPath, narrowed)
	f.reloadNow(t)
	if code, body := connect(t, f, f.upstreamA); code != http.StatusForbidden || !strings.Contains(body, "SSRF blocked: localhost") {
		t.Errorf("after narrowing: %d %q", code, body)
	}

	g := newFixture(t, "", "")
	raw, _ = readFile(g.cfgPath)
	balanced := strings.Replace(raw, "mode: strict", "mode: balanced", 1)
	writeFile(t, g.cfgPath, balanced)
	logs := &syncBuffer{}
	p, err := NewProxy(g.cfgPath, "127.0.0.1:0", "", log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	before := p.cur.Load()
	writeFile(t, g.cfgPath, balanced+trustLocalhost)
	p.Reload("SIGHUP")
	if p.cur.Load() == before || !strings.Contains(logs.String(), "WARNING: config reload: trusted_domains - trusted domains added: localhost") {
		t.Errorf("a widening in balanced mode: took %t, log:\n%s", p.cur.Load() != before, logs)
	}
}

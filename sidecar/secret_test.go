package sidecar

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// testSecret is the bottle's secret of the tests' bundles (newTestInit
// places it where the launch does).
const testSecret = "00112233445566778899aabbccddeeff"

// TestGateWantsTheSecret is issue 14's attack on the gate: a client that
// reaches its port (on smolmachines, any local process) but was not given
// the bottle's secret — none, a wrong one, one off by a character — is
// refused before any repository is looked at, with git's own client too;
// the bottle's guest, with the secret, is served. No refusal logs what
// stood in the secret's place. Before the check, all of them were served.
func TestGateWantsTheSecret(t *testing.T) {
	g := newTestGate(t)
	base := strings.TrimSuffix(g.url, "/"+testSecret+"/app.git")
	nearMiss := testSecret[:len(testSecret)-1] + "0"
	for _, path := range []string{"/app.git", "/" + nearMiss + "/app.git", "/ffeeddccbbaa99887766554433221100/app.git", "//app.git"} {
		for _, svc := range []string{"git-upload-pack", "git-receive-pack"} {
			pkts := exchange(t, g.addr(), string(pktLine(svc+" "+path+"\x00host=h\x00")))
			if len(pkts) != 1 || pkts[0] != "ERR git-gate: "+errNoSecret.Error() {
				t.Errorf("%s %s: the gate answered %q", svc, path, pkts)
			}
		}
		if out, err := runGit(g.env, "", "ls-remote", base+path); err == nil || !strings.Contains(out, "does not carry this bottle's secret") {
			t.Errorf("git ls-remote %s: %v\n%s", path, err, out)
		}
	}
	if out := mustGit(t, g.env, "", "ls-remote", g.url); !strings.Contains(out, g.first+"\tHEAD") {
		t.Errorf("with the secret: %q", out)
	}
	if log := logEventually(g.out, "does not carry this bottle's secret"); strings.Contains(log, nearMiss) || strings.Contains(log, "ffeeddcc") {
		t.Errorf("a refusal logged the guess:\n%s", log)
	}
	if strings.Contains(g.out.String()+g.logs.String(), testSecret) {
		t.Errorf("the secret is in the bundle's log:\n%s", g.out)
	}
}

// TestInitHandsOutSecret: the init gives git-gate and supervise a copy of
// the launch's secret each (0400), and refuses to start them without one.
func TestInitHandsOutSecret(t *testing.T) {
	t.Parallel()
	ti := newTestInit(t, bothDaemons, nil)
	if err := ti.handOutSecret(bothDaemons); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{bundle.Supervise, bundle.GitGate} {
		path := ti.daemonSecret(d)
		fi, err := os.Stat(path)
		if d == bundle.GitGate { // not in bothDaemons: no copy
			if err == nil {
				t.Errorf("%s got a copy without running", d)
			}
			continue
		}
		if err != nil || fi.Mode().Perm() != 0o400 {
			t.Fatalf("%s: %v %v", path, fi, err)
		}
		if s, err := bundle.ReadSecret(path); err != nil || s != testSecret {
			t.Errorf("%s holds %q, %v", path, s, err)
		}
	}
	if err := ti.handOutSecret(bothDaemons); err != nil { // a restart replaces the 0400 copy
		t.Errorf("second hand-out: %v", err)
	}
	pipelockOnly := bundle.Spec{Daemons: []string{bundle.Pipelock}}
	for _, content := range []string{"", "not-a-secret\n"} {
		mustWrite(t, ti.launchSecret(), []byte(content))
		if err := ti.handOutSecret(pipelockOnly); err != nil {
			t.Errorf("pipelock alone needs no secret: %v", err)
		}
		if err := ti.handOutSecret(bothDaemons); err == nil || !strings.Contains(err.Error(), "prepare secrets") {
			t.Errorf("secret file %q: %v, want the start refused", content, err)
		}
	}
	os.Remove(ti.launchSecret())
	if err := ti.run(context.Background()); err == nil || !strings.Contains(err.Error(), "prepare secrets") {
		t.Errorf("an init without the secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ti.RunDir, "ready")); err == nil {
		t.Error("an init without the secret became ready")
	}
}

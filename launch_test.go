package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
	"github.com/claude-bottle/claude-bottle/internal/fake"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/provision"
	"github.com/claude-bottle/claude-bottle/shell"
)

// answers stands in for docker and smolvm in in-process tests: the queries
// launch makes get plausible answers (no bottle exists; creates print the
// ID), everything else succeeds.
func answers(i int, c shell.Cmd) shell.Reply {
	a := c.Argv
	if cr, _ := resource(a, nil); cr != "" && a[0] == "docker" {
		return shell.Reply{Stdout: fakeID(cr) + "\n"}
	}
	switch {
	case len(a) > 2 && a[0] == "docker" && a[1] == "port":
		return shell.Reply{Stdout: "127.0.0.1:3" + strings.TrimSuffix(a[3], "/tcp") + "\n"}
	case len(a) > 3 && a[1] == "image" && a[2] == "inspect":
		return shell.Reply{Stdout: "sha256:" + strings.Repeat("ab", 32) + "\n"}
	case len(a) == 4 && a[0] == "smolvm" && a[3] == "--help":
		return shell.Reply{Stdout: "      --net-backend <BACKEND>\n"}
	}
	return shell.Reply{}
}

// testDeps are deps around a recorder, with streams captured.
func testDeps(rec *shell.Recorder, environ ...string) (*deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &deps{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, testRunner: rec,
		environ: append([]string{"HOME=/home/test", "ANTHROPIC_API_KEY=" + secretValue}, environ...), now: time.Now,
		suffix: func() string { return "abc123" }, fs: launch.NoFS{}, locks: launch.NoLocks{}, serial: true}, &out, &errb
}

// fakeID is the docker ID answers gives what a command creates.
func fakeID(created string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(created))) }

// fullLaunch is the launch with every provisioning input, detached.
func fullLaunch(t *testing.T, backend string) []string {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	must(t, os.MkdirAll(filepath.Join(repo, ".git", "refs"), 0o755))
	must(t, os.MkdirAll(filepath.Join(repo, ".git", "objects"), 0o755)) // a git dir has both
	must(t, os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "skill"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "skill", "SKILL.md"), []byte("# s\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "prompt.txt"), []byte("go\n"), 0o644))
	return []string{"claude-bottle", "--backend", backend, "launch", "--name", "full", "--cwd", repo,
		"--prompt", filepath.Join(dir, "prompt.txt"), "--skill", filepath.Join(dir, "skill"),
		"--upstream", "origin=https://github.com/acme/app.git", "--supervise", "--detach"}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// resource returns what a command creates ("container X", …) or removes;
// byID names docker's IDs (what a removal by ID removes).
func resource(argv []string, byID map[string]string) (created, removed string) {
	j := strings.Join(argv, " ")
	last := argv[len(argv)-1]
	switch {
	case strings.HasPrefix(j, "docker network create "):
		return "network " + last, ""
	case strings.HasPrefix(j, "docker network rm "):
		return "", named(byID, last, "network ")
	case strings.HasPrefix(j, "docker create ") || strings.HasPrefix(j, "docker run "):
		return "container " + flagValue(argv, "--name"), ""
	case strings.HasPrefix(j, "docker rm -f "):
		return "", named(byID, last, "container ")
	case strings.HasPrefix(j, "smolvm machine create ") && last != "--help":
		return "machine " + flagValue(argv, "--name"), ""
	case strings.HasPrefix(j, "smolvm machine delete "):
		if !strings.Contains(j, " -f") {
			return "", "" // without -f smolvm deletes nothing
		}
		return "", "machine " + flagValue(argv, "-n")
	}
	return "", ""
}

// named is what an ID names; anything else is removed by name.
func named(byID map[string]string, ref, kind string) string {
	if n, ok := byID[ref]; ok {
		return n
	}
	return "by name: " + kind + ref
}

func flagValue(argv []string, flag string) string {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

// TestEveryFaultLeavesNothing makes each command of the full launch fail in
// turn, on both backends, and checks that the launch fails with one error
// naming the step, the quoted command and its stderr, and removes every
// resource it created (including the one whose create failed), newest first.
func TestEveryFaultLeavesNothing(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		args := fullLaunch(t, backend)
		clean := &shell.Recorder{Answer: answers}
		d, _, errb := testDeps(clean)
		if code := run(context.Background(), args, d); code != 0 {
			t.Fatalf("%s: full launch: exit %d: %s", backend, code, errb)
		}
		n := len(clean.Calls())
		t.Logf("%s: full launch runs %d commands", backend, n)
		for k := 0; k < n; k++ {
			t.Run(fmt.Sprintf("%s/fail-%02d", backend, k), func(t *testing.T) {
				checkFault(t, args, k, false)
			})
		}
	}
}

// TestTeardownFailuresAreReported: a failing removal is reported, and the
// other removals still run.
func TestTeardownFailuresAreReported(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		t.Run(backend, func(t *testing.T) {
			rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
				j := shell.Join(c.Argv)
				switch {
				case strings.Contains(j, "claude-bottle-trust"):
					return shell.Reply{ExitCode: 1, Stderr: "no space left"}
				case j == "docker rm -f "+fakeID("container claude-bottle-full-bundle"):
					return shell.Reply{ExitCode: 1, Stderr: "Error response from daemon: device busy"}
				}
				return answers(i, c)
			}}
			d, _, errb := testDeps(rec)
			if code := run(context.Background(), fullLaunch(t, backend), d); code != exitFailed {
				t.Fatalf("exit %d, want %d", code, exitFailed)
			}
			msg := errb.String()
			stop := "claude-bottle stop full"
			if backend == "smolmachines" {
				stop = "claude-bottle --backend smolmachines stop full"
			}
			for _, want := range []string{"no space left", "teardown: remove bundle claude-bottle-full-bundle", "device busy",
				"left behind:\n  bundle claude-bottle-full-bundle (ID " + fakeID("container claude-bottle-full-bundle")[:12] + ")\n",
				"remove it with: " + stop + "\n"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr lacks %q:\n%s", want, msg)
				}
			}
			if backend == "docker" && !strings.Contains(rec.Transcript(), "docker network rm "+fakeID("network claude-bottle-full-net")) {
				t.Errorf("the network was not removed after the bundle's removal failed:\n%s", rec.Transcript())
			}
		})
	}
}

// TestTakenNameCreatesNothing: a launch under the name of a bottle that
// exists fails (exit 1) before it creates anything and names the command
// that removes the other bottle; what only looks like that bottle (an
// image's inherited label, a label value spelling another label) does not
// take the name.
func TestTakenNameCreatesNothing(t *testing.T) {
	line := func(names, bottle, role string) string {
		return fmt.Sprintf(`{"ID":%q,"Names":%q,"State":"running","Ports":"","CreatedAt":"now","Bottle":%q,"Role":%q,"Backend":"docker"}`,
			fakeID(names), names, bottle, role)
	}
	cases := []struct {
		name, ps string
		taken    bool
	}{
		{"its bundle", line("claude-bottle-full-bundle", "full", "bundle"), true},
		{"its agent", line("claude-bottle-full-agent", "full", "agent"), true},
		{"an inherited label", line("unrelated", "full", ""), false},
		{"a spelled label", line("claude-bottle-full-bundle", "x", "bundle,claude-bottle.name=full"), false},
	}
	for _, backend := range []string{"docker", "smolmachines"} {
		for _, c := range cases {
			t.Run(backend+"/"+c.name, func(t *testing.T) {
				rec := &shell.Recorder{Answer: func(i int, cmd shell.Cmd) shell.Reply {
					if cmd.Argv[0] == "docker" && cmd.Argv[1] == "ps" {
						return shell.Reply{Stdout: c.ps + "\n"}
					}
					return answers(i, cmd)
				}}
				d, _, errb := testDeps(rec)
				code := run(context.Background(), fullLaunch(t, backend), d)
				if !c.taken {
					if code != exitOK {
						t.Fatalf("exit %d, want 0: %s", code, errb)
					}
					return
				}
				if code != exitFailed || !strings.Contains(errb.String(), "bottle full exists (container claude-bottle-full-") ||
					!strings.Contains(errb.String(), "remove it with claude-bottle stop full\n") {
					t.Errorf("exit %d, stderr:\n%s", code, errb)
				}
				for _, call := range rec.Calls() {
					if cr, rm := resource(call.Argv, nil); cr != "" || rm != "" {
						t.Errorf("ran %s", shell.Join(call.Argv))
					}
				}
			})
		}
	}
}

// checkFailedLaunch: command k of the launch failed with stderr want. A
// failing MCP registration is not fatal (it returns false: the launch
// succeeded, nothing to tear down); anything else exits 1 with nothing on
// stdout and one error line that quotes the command and want, and no
// secret value anywhere.
func checkFailedLaunch(t *testing.T, rec *shell.Recorder, k, code int, out, errs, want string) bool {
	t.Helper()
	failed := shell.Join(rec.Calls()[k].Argv)
	if strings.Contains(failed, "claude mcp add") {
		if code != exitOK || !strings.Contains(errs, "level=warning") {
			t.Fatalf("a failing MCP registration: exit %d, stderr:\n%s", code, errs)
		}
		return false
	}
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, errs)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing (no bottle name after a failed launch)", out)
	}
	if !strings.Contains(errs, failed) || !strings.Contains(errs, want) {
		t.Errorf("error does not quote the failing command and its stderr:\n%s\nwant %s and %s", errs, failed, want)
	}
	if strings.Count(errs, "claude-bottle: ") != 1 {
		t.Errorf("want one error line, got:\n%s", errs)
	}
	if strings.Contains(rec.Transcript(), secretValue) || strings.Contains(errs, secretValue) {
		t.Errorf("the secret's value leaked into a command or the error")
	}
	return true
}

func checkFault(t *testing.T, args []string, k int, _ bool) {
	rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
		if i == k {
			// A create that fails may have created (docker run whose start
			// fails): it printed the ID.
			return shell.Reply{ExitCode: 1, Stderr: fmt.Sprintf("boom-%d", k), Stdout: answers(i, c).Stdout}
		}
		return answers(i, c)
	}}
	d, out, errb := testDeps(rec)
	code := run(context.Background(), args, d)
	calls := rec.Calls()
	if !checkFailedLaunch(t, rec, k, code, out.String(), errb.String(), fmt.Sprintf("boom-%d", k)) {
		return
	}
	var live []string
	byID := map[string]string{}
	for i, c := range calls {
		cr, rm := resource(c.Argv, byID)
		switch {
		case cr != "" && i <= k:
			live = append(live, cr)
			byID[fakeID(cr)] = cr
		case rm != "":
			if len(live) == 0 || live[len(live)-1] != rm {
				t.Errorf("removed %s out of order (live: %v)", rm, live)
				continue
			}
			live = live[:len(live)-1]
		}
	}
	if len(live) > 0 {
		t.Errorf("left behind: %v\n%s", live, rec.Transcript())
	}
}

// TestTestCAs: the fixed CAs of the golden transcripts are what a launch
// makes (a pipelock CA and its key, egress's CA and the certificate it
// signed for egress's name alone), and have the fingerprint the goldens
// expect in the log; TestCA has its own (computed once with openssl).
func TestTestCAs(t *testing.T) {
	c, _ := fake.TestCAs(time.Now(), true)
	if fp, err := provision.Fingerprint(c.PipelockCert); err != nil || fp != fake.TestCAsFingerprint {
		t.Errorf("pipelock CA fingerprint %s, %v; want %s", fp, err, fake.TestCAsFingerprint)
	}
	if _, err := tls.X509KeyPair(c.PipelockCert, c.PipelockKey); err != nil {
		t.Errorf("pipelock CA and key: %v", err)
	}
	leaf, err := tls.X509KeyPair(c.EgressCert, c.EgressKey)
	if err != nil {
		t.Fatalf("egress certificate and key: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.EgressCA)
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: bundle.EgressHost, CurrentTime: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("egress certificate: %v", err)
	}
	if fp, err := provision.Fingerprint([]byte(fake.TestCA)); err != nil || fp != fake.TestCAFingerprint {
		t.Errorf("Fingerprint(TestCA) = %s, %v; want %s", fp, err, fake.TestCAFingerprint)
	}
}

// concurrentDeps are testDeps whose launch runs its independent steps at
// once, as a real launch does.
func concurrentDeps(rec *shell.Recorder) (*deps, *bytes.Buffer, *bytes.Buffer) {
	d, out, errb := testDeps(rec)
	d.serial = false
	return d, out, errb
}

// TestLaunchOverlapsBundleAndGuest: the bundle and the agent's guest come
// up at once: the bundle's start waits here until the agent's container
// (docker) or the image lookup (smolmachines) has run, which a launch that
// does one after the other never gets to. The commands are those of the
// serial launch (its golden transcript), each side in its own order but
// for the provisioning commands after the archive, which run at once.
func TestLaunchOverlapsBundleAndGuest(t *testing.T) {
	for _, c := range []struct{ backend, other string }{
		{"docker", "docker run --detach --name claude-bottle-full-agent "},
		{"smolmachines", "docker image inspect "},
	} {
		t.Run(c.backend, func(t *testing.T) {
			args := fullLaunch(t, c.backend)
			serial := &shell.Recorder{Answer: answers}
			d, _, errb := testDeps(serial)
			if code := run(context.Background(), args, d); code != 0 {
				t.Fatalf("serial launch: exit %d: %s", code, errb)
			}
			seen := make(chan struct{})
			var once sync.Once
			rec := &shell.Recorder{Answer: func(i int, cmd shell.Cmd) shell.Reply {
				j := shell.Join(cmd.Argv)
				if strings.HasPrefix(j, c.other) {
					once.Do(func() { close(seen) })
				}
				if j == "docker start claude-bottle-full-bundle" {
					select {
					case <-seen:
					case <-time.After(5 * time.Second):
						return shell.Reply{ExitCode: 1, Stderr: "the bundle started alone: nothing ran alongside it"}
					}
				}
				return answers(i, cmd)
			}}
			d, _, errb = concurrentDeps(rec)
			if code := run(context.Background(), args, d); code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			got, want := lines(rec.Transcript()), lines(serial.Transcript())
			if !sameMultiset(got, want) {
				t.Errorf("the concurrent launch ran other commands:\n%s\nthe serial one:\n%s", rec.Transcript(), serial.Transcript())
			}
			for _, side := range []string{"claude-bottle-full-bundle", "claude-bottle-full-agent"} {
				if g, w := provisionSorted(grep(got, side)), provisionSorted(grep(want, side)); strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Errorf("%s: commands in another order:\n%s\nwant:\n%s", side, strings.Join(g, "\n"), strings.Join(w, "\n"))
				}
			}
		})
	}
}

// TestEveryFaultLeavesNothingConcurrently: each command of the full launch
// fails in turn while the bundle and the guest come up at once; the launch
// fails with one error and removes everything it created, the network after
// the containers on it.
func TestEveryFaultLeavesNothingConcurrently(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		args := fullLaunch(t, backend)
		clean := &shell.Recorder{Answer: answers}
		d, _, errb := concurrentDeps(clean)
		if code := run(context.Background(), args, d); code != 0 {
			t.Fatalf("%s: full launch: exit %d: %s", backend, code, errb)
		}
		for _, call := range clean.Calls() {
			fail := shell.Join(call.Argv)
			if strings.Contains(fail, "claude mcp add") {
				continue // not fatal (TestEveryFaultLeavesNothing)
			}
			t.Run(backend+"/"+strings.Join(call.Argv[:3], " "), func(t *testing.T) {
				var once sync.Once
				rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
					failed := false
					if shell.Join(c.Argv) == fail {
						once.Do(func() { failed = true })
					}
					if failed {
						return shell.Reply{ExitCode: 1, Stderr: "boom", Stdout: answers(i, c).Stdout}
					}
					return answers(i, c)
				}}
				d, _, errb := concurrentDeps(rec)
				if code := run(context.Background(), args, d); code != exitFailed || strings.Count(errb.String(), "claude-bottle: ") != 1 {
					t.Fatalf("exit %d, stderr:\n%s", code, errb)
				}
				live := map[string]bool{}
				byID := map[string]string{}
				for _, c := range rec.Calls() {
					cr, rm := resource(c.Argv, byID)
					switch {
					case cr != "":
						live[cr] = true
						byID[fakeID(cr)] = cr
					case rm != "":
						if strings.HasPrefix(rm, "network ") && len(live) > 1 {
							t.Errorf("removed %s before its containers (live: %v)", rm, live)
						}
						delete(live, rm)
					}
				}
				if len(live) > 0 {
					t.Errorf("left behind: %v\n%s", live, rec.Transcript())
				}
			})
		}
	}
}

// provisionSorted sorts the run of provisioning commands after the archive
// goes in (the CA's trust, the checkout, the MCP registration): they run at
// once, in no order.
func provisionSorted(ls []string) []string {
	out := append([]string(nil), ls...)
	for i, l := range out {
		if strings.HasPrefix(l, "docker cp - claude-bottle-full-agent") || strings.Contains(l, " -i -- tar --extract ") {
			j := i + 1
			for j < len(out) && !strings.Contains(out[j], "tmux") && !strings.Contains(out[j], "sidecar wait") {
				j++
			}
			sort.Strings(out[i+1 : j])
		}
	}
	return out
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func grep(ls []string, sub string) []string {
	var out []string
	for _, l := range ls {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

func sameMultiset(a, b []string) bool {
	n := map[string]int{}
	for _, s := range a {
		n[s]++
	}
	for _, s := range b {
		n[s]--
	}
	for _, v := range n {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestLaunchOutputForms: what a launch says on stderr in each form. On a
// terminal: each step drawn as it runs and done (✓, its duration), the
// messages as sentences, never a log record; --quiet: nothing but
// warnings; --log-level debug: the log alone, as it was (each step's
// duration at debug; the real runner adds every command), no step records;
// JSON: one object a line.
func TestLaunchOutputForms(t *testing.T) {
	still := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		name        string
		tty         bool
		flags       []string
		want, never []string
	}{
		{"terminal", true, nil,
			[]string{" ✓ check name (0s)\n", " ✓ create network (0s)\n", " ✓ wait for bundle (0s)\n", "\x1b[1A\r\x1b[J",
				"\nCA (pipelock) SHA-256 fingerprint: ", "\nbottle full ready in 0s ("}, []string{"level=", `msg=`}},
		{"terminal quiet", true, []string{"--quiet"}, nil, []string{"✓", "\x1b[", "fingerprint", "ready in"}},
		{"plain", false, nil, []string{"level=info msg=\"create network\" duration=0s\n", "level=info msg=\"CA (pipelock) SHA-256 fingerprint: "},
			[]string{"\x1b[", "✓"}},
		{"plain quiet", false, []string{"-q"}, nil, []string{"level=info"}},
		{"debug on a terminal", true, []string{"--log-level", "debug"}, []string{"level=debug msg=\"step create network: 0s\"\n", "level=info msg=\"CA (pipelock) SHA-256 fingerprint: "},
			[]string{"\x1b[", "✓", `msg="create network" duration`}},
		{"json", true, []string{"--log-format", "json"}, []string{`"duration":"0s","level":"info","msg":"create network"`}, []string{"\x1b[", "✓"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &shell.Recorder{Answer: answers}
			d, _, errb := testDeps(rec)
			d.errTTY, d.now = c.tty, still
			args := fullLaunch(t, "docker")
			args = append(append([]string{args[0]}, c.flags...), args[1:]...)
			if code := run(context.Background(), args, d); code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			for _, w := range c.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
			for _, n := range c.never {
				if strings.Contains(errb.String(), n) {
					t.Errorf("stderr holds %q:\n%s", n, errb)
				}
			}
		})
	}
}

// TestCAKeysGoToTheBundleOnly: the launch makes the bottle's CAs and the
// keys travel in the bundle's archive alone (root 0600), never in the
// guest's, a command line, a note, the log or the dry-run.
func TestCAKeysGoToTheBundleOnly(t *testing.T) {
	for _, backend := range []string{"docker", "smolmachines"} {
		rec := &shell.Recorder{Answer: answers}
		d, out, errb := testDeps(rec)
		d.cas = fake.TestCAs
		args := fullLaunch(t, backend)
		args = append([]string{args[0], "--log-level", "debug"}, args[1:]...)
		if code := run(context.Background(), args, d); code != 0 {
			t.Fatalf("%s: exit %d: %s", backend, code, errb)
		}
		cas, _ := fake.TestCAs(time.Now(), true)
		var bundleArchive, guestArchive []byte
		for _, c := range rec.Calls() {
			j := shell.Join(c.Argv)
			switch {
			case strings.HasPrefix(j, "docker cp - claude-bottle-full-bundle:"):
				bundleArchive = c.Stdin
			case c.Stdin != nil:
				guestArchive = append(guestArchive, c.Stdin...)
			}
		}
		for _, key := range [][]byte{cas.PipelockKey, cas.EgressKey} {
			if !bytes.Contains(bundleArchive, key) {
				t.Errorf("%s: the bundle's archive lacks a CA key", backend)
			}
			for what, s := range map[string]string{"the guest's archive": string(guestArchive), "a command or note": rec.Transcript(),
				"stdout": out.String(), "stderr": errb.String()} {
				if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, string(key[40:80])) {
					t.Errorf("%s: %s holds a CA key", backend, what)
				}
			}
		}
		if !bytes.Contains(guestArchive, cas.PipelockCert) || !bytes.Contains(guestArchive, cas.EgressCA) {
			t.Errorf("%s: the guest's archive lacks the CAs' certificates", backend)
		}
	}
	var dry bytes.Buffer
	d, _, errb := testDeps(nil)
	d.testRunner = &shell.DryRun{W: &dry}
	if code := run(context.Background(), append([]string{"claude-bottle", "--dry-run"}, fullLaunch(t, "docker")[1:]...), d); code != 0 {
		t.Fatalf("dry-run: exit %d: %s", code, errb)
	}
	if strings.Contains(dry.String(), "PRIVATE KEY") || !strings.Contains(dry.String(), "# root 0600 /run/claude-bottle/pipelock/ca-key.pem\n") {
		t.Errorf("dry-run:\n%s", dry.String())
	}
}

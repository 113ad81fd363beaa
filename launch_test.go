package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	case len(a) > 2 && a[len(a)-2] == "cat" && strings.HasSuffix(a[len(a)-1], "ca.pem"):
		return shell.Reply{Stdout: fake.TestCA + "\n"}
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
		suffix: func() string { return "abc123" }, fs: launch.NoFS{}, locks: launch.NoLocks{}}, &out, &errb
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
	failed := calls[k].Argv
	if strings.Contains(shell.Join(failed), "claude mcp add") {
		// Registering supervise is not fatal: the launch succeeds.
		if code != exitOK || !strings.Contains(errb.String(), "level=warning") {
			t.Fatalf("a failing MCP registration: exit %d, stderr:\n%s", code, errb)
		}
		return
	}
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, errb)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q, want nothing (no bottle name after a failed launch)", out)
	}
	msg := errb.String()
	if !strings.Contains(msg, shell.Join(failed)) || !strings.Contains(msg, fmt.Sprintf("boom-%d", k)) {
		t.Errorf("error does not quote the failing command and its stderr:\n%s\nwant %s", msg, shell.Join(failed))
	}
	if strings.Count(msg, "claude-bottle: ") != 1 {
		t.Errorf("want one error line, got:\n%s", msg)
	}
	if strings.Contains(rec.Transcript(), secretValue) || strings.Contains(msg, secretValue) {
		t.Errorf("the secret's value leaked into a command or the error")
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

// TestStandInCA: the stand-in bundle's CA has the fingerprint the goldens
// expect in the log (computed once with openssl).
func TestStandInCA(t *testing.T) {
	fp, err := provision.Fingerprint([]byte(fake.TestCA))
	if err != nil || fp != fake.TestCAFingerprint {
		t.Fatalf("Fingerprint(TestCA) = %s, %v; want %s", fp, err, fake.TestCAFingerprint)
	}
}

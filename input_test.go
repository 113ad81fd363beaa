package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/launch"

	"github.com/claude-bottle/claude-bottle/shell"
)

// TestBadInputRunsNothing: every bad input is rejected with exit code 2 and
// a one-line reason before any command runs.
func TestBadInputRunsNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	must(t, os.WriteFile(file, []byte("x"), 0o644))
	unreadable := filepath.Join(dir, "secret.txt")
	must(t, os.WriteFile(unreadable, []byte("x"), 0o000))
	notRepo := filepath.Join(dir, "plain")
	must(t, os.MkdirAll(notRepo, 0o755))
	skill := filepath.Join(dir, "skill")
	must(t, os.MkdirAll(skill, 0o755))
	long := strings.Repeat("a", 64)
	dangling := filepath.Join(dir, "dangling")
	must(t, os.Symlink(filepath.Join(dir, "gone"), dangling))
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	bigPrompt := filepath.Join(dir, "prompt-big.txt") // one argv string in the guest is at most 128 KiB
	must(t, os.WriteFile(bigPrompt, bytes.Repeat([]byte("p"), 128<<10), 0o644))
	bigKey := filepath.Join(dir, "key-big")
	must(t, os.WriteFile(bigKey, bytes.Repeat([]byte("k"), 64<<10+1), 0o600))
	ssh := []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--known-hosts", file}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown backend", []string{"--backend", "podman", "launch"}, `unknown backend "podman"`},
		{"unknown backend env", []string{"--backend", "", "launch"}, `unknown backend ""`},
		{"unknown net mode", []string{"--backend", "smolmachines", "launch", "--smolvm-net", "slirp"}, `unknown --smolvm-net "slirp"`},
		{"bad log level", []string{"--log-level", "loud", "launch"}, `invalid --log-level "loud"`},
		{"bad log format", []string{"--log-format", "xml", "launch"}, `invalid --log-format "xml"`},
		{"upstream without =", []string{"launch", "--upstream", "origin"}, "want NAME=URL"},
		{"upstream empty name", []string{"launch", "--upstream", "=https://h/a.git"}, "empty name"},
		{"upstream empty url", []string{"launch", "--upstream", "origin="}, "empty URL"},
		{"upstream not git url", []string{"launch", "--upstream", "o=ftp://h/a.git"}, `scheme "ftp"`},
		{"upstream local path", []string{"launch", "--upstream", "o=/srv/a.git"}, "local paths"},
		{"upstream repeated", []string{"launch", "--upstream", "o=https://h/a.git", "--upstream", "o=https://h/b.git"}, `name "o" given twice`},
		{"upstream password", []string{"launch", "--upstream", "o=https://u:p@h/a.git"}, "credentials"},
		{"prompt missing", []string{"launch", "--prompt", filepath.Join(dir, "nope.txt")}, "no such file"},
		{"prompt unreadable", []string{"launch", "--prompt", unreadable}, "permission denied"},
		{"prompt is a dir", []string{"launch", "--prompt", dir}, "is a directory"},
		{"prompt fifo", []string{"--dry-run", "launch", "--prompt", fifo}, "is a FIFO, not a regular file"},
		{"prompt device", []string{"launch", "--prompt", "/dev/zero"}, "/dev/zero is a device, not a regular file"},
		{"prompt over 128 KiB", []string{"launch", "--prompt", bigPrompt}, "one argument is at most 128 KiB"},
		{"known hosts fifo", []string{"launch", "--known-hosts", fifo}, "invalid --known-hosts: " + fifo + " is a FIFO"},
		{"credential fifo", append(ssh, "--git-credential", "o="+fifo), " is a FIFO, not a regular file"},
		{"credential over 64 KiB", append(ssh, "--git-credential", "o="+bigKey), "is larger than 64 KiB"},
		{"skill not a dir", []string{"launch", "--skill", file}, "not a directory"},
		{"skill missing", []string{"launch", "--skill", filepath.Join(dir, "none")}, "no such file"},
		{"skill twice", []string{"launch", "--skill", skill, "--skill", skill}, `same name "skill"`},
		{"skill dangling link", []string{"launch", "--skill", dangling}, "no such file"},
		{"cwd missing", []string{"launch", "--cwd", filepath.Join(dir, "none")}, "no such file"},
		{"cwd not a repo", []string{"launch", "--cwd", notRepo}, "not the top of a git repository"},
		{"memory not a size", []string{"launch", "--memory", "lots"}, `invalid --memory "lots"`},
		{"memory too small", []string{"launch", "--memory", "10m"}, "at least 64m"},
		{"pids too few", []string{"launch", "--pids", "3"}, "invalid --pids 3"},
		{"cpus not a number", []string{"launch", "--cpus", "two"}, `invalid --cpus "two"`},
		{"cpus zero", []string{"launch", "--cpus", "0"}, "at least 0.1"},
		{"bundle memory", []string{"launch", "--bundle-memory", "1t"}, `invalid --bundle-memory "1t"`},
		{"bundle pids", []string{"launch", "--bundle-pids", "0"}, "invalid --bundle-pids 0"},
		{"name empty", []string{"launch", "--name", ""}, "invalid bottle name: empty"},
		{"name space", []string{"launch", "--name", "my bottle"}, `invalid bottle name "my bottle"`},
		{"name slash", []string{"launch", "--name", "a/b"}, `invalid bottle name "a/b"`},
		{"name dotdot", []string{"launch", "--name", ".."}, `invalid bottle name ".."`},
		{"name too long", []string{"launch", "--name", long}, "longer than 63"},
		{"name trailing dash", []string{"launch", "--name", "a-"}, "no trailing '-'"},
		{"env bad name", []string{"launch", "--env", "1X=y"}, `"1X" is not a variable name`},
		{"env by name unset", []string{"launch", "--env", "NOT_SET_HERE"}, "not set in claude-bottle's environment"},
		{"env reserved", []string{"launch", "--env", "HTTPS_PROXY=http://evil"}, "set by claude-bottle"},
		{"unknown flag", []string{"launch", "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{"unknown global flag", []string{"--verbose", "launch"}, "flag provided but not defined: -verbose"},
		{"credential without upstream", []string{"launch", "--git-credential", "o=" + file, "--known-hosts", file}, "no --upstream named o"},
		{"credential without known hosts", []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--git-credential", "o=" + file}, "needs --known-hosts"},
		{"credential missing file", []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--git-credential", "o=" + filepath.Join(dir, "key")}, "no such file"},
		{"policy of no upstream", []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--upstream-policy", "p=force"}, "no --upstream named p"},
		{"policy word unknown", []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--upstream-policy", "o=rewrite"}, `"rewrite" is not force or delete`},
		{"policy without =", []string{"launch", "--upstream", "o=ssh://git@h/a.git", "--upstream-policy", "o"}, "want NAME=force"},
		{"allow-host url", []string{"launch", "--allow-host", "https://example.com"}, `invalid --allow-host "https://example.com"`},
		{"allow-host port", []string{"launch", "--allow-host", "example.com:443"}, `invalid --allow-host "example.com:443"`},
		{"allow-private loopback", []string{"launch", "--allow-private", "127.0.0.1"}, `invalid --allow-private "127.0.0.1": the bundle's own loopback`},
		{"allow-private host bits", []string{"launch", "--allow-private", "10.1.2.3/16"}, `invalid --allow-private "10.1.2.3/16": host bits set`},
		{"empty agent image", []string{"launch", "--agent-image", ""}, "must not be empty"},
		{"stop name a path", []string{"stop", "../x"}, `invalid bottle name "../x"`}, // it names a lock file
		{"stop two names", []string{"stop", "a", "b"}, `stop: unexpected argument "b"`},
		{"ls argument", []string{"ls", "a"}, "ls takes no arguments"},
		{"unknown command", []string{"fetc"}, `unknown command "fetc" (see claude-bottle --help)`},
		{"unknown subcommand", []string{"supervise", "aprove", "b", "r1"}, `unknown command "aprove" (see claude-bottle supervise --help)`},
		{"completion of no shell", []string{"completion"}, "missing SHELL (usage: claude-bottle completion bash|zsh|fish)"},
		{"completion unknown shell", []string{"completion", "tcsh"}, `unknown shell "tcsh": want bash, zsh or fish`},
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: an unreadable file is readable; that case checks nothing")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "prompt unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			rec := &shell.Recorder{}
			d, out, errb := testDeps(rec)
			code := runWithin(t, 5*time.Second, append([]string{"claude-bottle"}, c.args...), d)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, errb)
			}
			msg := strings.TrimRight(errb.String(), "\n")
			if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "claude-bottle: ") || !strings.Contains(msg, c.want) {
				t.Errorf("stderr %q, want one line containing %q", msg, c.want)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Errorf("%d commands ran:\n%s", n, rec.Transcript())
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
		})
	}
}

// runWithin runs the CLI and fails the test if it has not returned in
// time: bad input must never block (a FIFO opened for reading without
// O_NONBLOCK waits for a writer).
func runWithin(t *testing.T, d time.Duration, args []string, dp *deps) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), args, dp) }()
	select {
	case code := <-done:
		return code
	case <-time.After(d):
		t.Fatalf("%q still running after %v", args, d)
		return 0
	}
}

// TestDoctorWithoutDocker: no docker on PATH fails and says how to fix it.
func TestDoctorWithoutDocker(t *testing.T) {
	var out, errb strings.Builder
	d := &deps{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		environ: []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}, now: time.Now, fs: launch.NoFS{}}
	code := run(context.Background(), []string{"claude-bottle", "doctor"}, d)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	for _, want := range []string{"fail docker client: docker version --format '{{.Client.Version}}': docker: executable file not found in $PATH",
		"fix: install Docker", "warn smolvm:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
}

// TestUnknownBottleSaidOnce: every command that acts on a bottle says that
// it does not exist in one line, the same words, and exits 1 (found: logs
// printed docker's "No such container" twice, supervise printed it and an
// empty "claude-bottle: " line).
func TestUnknownBottleSaidOnce(t *testing.T) {
	repo := t.TempDir()
	for _, args := range [][]string{
		{"logs", "ghost"}, {"logs", "ghost", "--agent"}, {"attach", "ghost"}, {"wait", "ghost"},
		{"fetch", "ghost", "--repo", repo}, {"supervise", "ls", "ghost"}, {"supervise", "watch", "ghost"},
		{"supervise", "approve", "ghost", "r1"}, {"supervise", "deny", "ghost", "r1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			rec := &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
				if c.Argv[0] == "docker" {
					// What docker answers, on stderr, for a container that is not there.
					name := c.Argv[len(c.Argv)-1]
					return shell.Reply{ExitCode: 1, Stderr: "Error response from daemon: No such container: " + name + "\n"}
				}
				return shell.Reply{Stdout: "[]\n"}
			}}
			d, out, errb := testDeps(rec)
			code := run(context.Background(), append([]string{"claude-bottle"}, args...), d)
			if want := "claude-bottle: no bottle named ghost (see claude-bottle ls)\n"; code != exitFailed || errb.String() != want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errb.String(), exitFailed, want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

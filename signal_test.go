package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fake"
)

// TestSignalsTearDown runs the real binary against stand-ins, makes one
// command block, signals claude-bottle and checks that it cancels the
// command, tears down and exits 128+signal within 5 seconds.
func TestSignalsTearDown(t *testing.T) {
	bin, err := exec.LookPath("claude-bottle") // put on PATH by testscript.Main
	if err != nil {
		t.Skip("claude-bottle stand-in binary not on PATH")
	}
	cases := []struct {
		name    string
		backend string
		block   string // prefix of the command that blocks
		sig     syscall.Signal
	}{
		{"docker setup INT", "docker", "docker exec claude-bottle-sig-bundle /usr/local/bin/claude-bottle sidecar wait", syscall.SIGINT},
		{"docker setup TERM", "docker", "docker cp - claude-bottle-sig-agent:/", syscall.SIGTERM},
		{"docker attached INT", "docker", "docker exec -i -u node", syscall.SIGINT},
		{"docker attached TERM", "docker", "docker exec -i -u node", syscall.SIGTERM},
		{"smolvm setup TERM", "smolmachines", "smolvm machine start", syscall.SIGTERM},
		{"smolvm attached INT", "smolmachines", "smolvm machine exec --name claude-bottle-sig-agent -i -w", syscall.SIGINT},
		{"smolvm attached TERM", "smolmachines", "smolvm machine exec --name claude-bottle-sig-agent -i -w", syscall.SIGTERM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "fake.answers"), []byte("match "+c.block+"\nblock\n"), 0o644))
			cmd := standIn(bin, dir, "--backend", c.backend, "launch", "--name", "sig", "--smolvm-net", "tsi")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			must(t, cmd.Start())
			waitFor(t, filepath.Join(dir, "calls.log"), c.block)
			sent := time.Now()
			must(t, cmd.Process.Signal(c.sig))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 128+int(c.sig) {
					t.Errorf("exit %v, want %d; stderr:\n%s", err, 128+int(c.sig), &stderr)
				}
				t.Logf("torn down and exited %s after the signal", time.Since(sent).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after %s; stderr:\n%s", c.sig, &stderr)
			}
			left, err := fake.Leftovers(dir)
			must(t, err)
			if left != "" {
				t.Errorf("left behind:\n%s", left)
			}
		})
	}
}

// TestSecondSignalStopsTeardown: with docker or smolvm hung in the
// teardown, a second signal stops the waiting: claude-bottle names each
// resource left and the command that removes it, and exits 1 (not 130:
// something is left). So does a teardown that fails after one signal.
func TestSecondSignalStopsTeardown(t *testing.T) {
	bin, err := exec.LookPath("claude-bottle")
	if err != nil {
		t.Skip("claude-bottle stand-in binary not on PATH")
	}
	cases := []struct {
		name, backend string
		answers       string
		signals       []string // what must have run before each SIGINT
		want          []string
	}{
		{"docker hung rm", "docker", "match docker exec -i -u node\nblock\nmatch docker rm -f\nblock\n",
			[]string{"docker exec -i -u node", "docker rm -f"},
			[]string{"agent container claude-bottle-sig-agent (ID ", "bundle claude-bottle-sig-bundle (ID ",
				"network claude-bottle-sig-net (ID ", "remove it with: claude-bottle stop sig\n"}},
		{"smolvm hung delete", "smolmachines", "match smolvm machine exec --name claude-bottle-sig-agent -i\nblock\nmatch smolvm machine delete\nblock\n",
			[]string{"smolvm machine exec --name claude-bottle-sig-agent -i", "smolvm machine delete"},
			[]string{"machine claude-bottle-sig-agent\n", "bundle claude-bottle-sig-bundle (ID ",
				"remove it with: claude-bottle --backend smolmachines stop sig\n"}},
		{"docker failing rm", "docker", "match docker exec -i -u node\nblock\nmatch docker network rm\nstderr Error response from daemon: boom\nexit 1\n",
			[]string{"docker exec -i -u node"},
			[]string{"remove network claude-bottle-sig-net: docker network rm ", "boom", "left behind:\n  network claude-bottle-sig-net (ID ",
				"remove it with: claude-bottle stop sig\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "fake.answers"), []byte(c.answers), 0o644))
			cmd := standIn(bin, dir, "--backend", c.backend, "launch", "--name", "sig", "--smolvm-net", "tsi")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			must(t, cmd.Start())
			for _, before := range c.signals {
				waitFor(t, filepath.Join(dir, "calls.log"), before)
				must(t, cmd.Process.Signal(syscall.SIGINT))
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 {
					t.Errorf("exit %v, want 1; stderr:\n%s", err, &stderr)
				}
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 5 s after the last signal; stderr:\n%s", &stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, &stderr)
				}
			}
			// The command it names removes what is left.
			must(t, os.Remove(filepath.Join(dir, "fake.answers")))
			stop := standIn(bin, dir, "--backend", c.backend, "stop", "sig")
			if out, err := stop.CombinedOutput(); err != nil {
				t.Fatalf("stop: %v\n%s", err, out)
			}
			left, err := fake.Leftovers(dir)
			must(t, err)
			if left != "" {
				t.Errorf("left behind after stop:\n%s", left)
			}
		})
	}
}

// standIn is claude-bottle run against the stand-ins' state in dir.
func standIn(bin, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FAKE_DIR="+dir, "HOME="+dir, "XDG_CACHE_HOME="+dir+"/cache")
	return cmd
}

// waitFor polls the call log until a line starts with prefix.
func waitFor(t *testing.T, log, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(log)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, prefix) {
				time.Sleep(50 * time.Millisecond) // let the stand-in reach its block
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q never ran", prefix)
}

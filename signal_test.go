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
			cmd := exec.Command(bin, "--backend", c.backend, "launch", "--name", "sig", "--smolvm-net", "tsi")
			cmd.Env = append(os.Environ(), "FAKE_DIR="+dir, "HOME="+dir, "XDG_CACHE_HOME="+dir+"/cache")
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

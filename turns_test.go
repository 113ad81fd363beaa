package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/fake"
)

// The tests here run the real binary against the stand-ins, whose docker
// lets concurrent creates share a network name (Engine 20.10 did), with one
// command delayed so that two claude-bottles overlap.

// slowWait delays the launch's wait for the bundle of bottle "race".
const slowWait = "match docker exec claude-bottle-race-bundle /usr/local/bin/claude-bottle sidecar wait\ndelay 1500ms\n"

// raceLeft is what a detached launch of "race" leaves running.
const raceLeft = "container claude-bottle-race-agent\ncontainer claude-bottle-race-bundle\nnetwork claude-bottle-race-net\n"

// TestConcurrentLaunchesOfOneName: of two launches of one name, one
// succeeds and the other is refused before it creates anything (the name's
// lock is held; once the first is done, the name is taken); neither
// removes anything of the other.
func TestConcurrentLaunchesOfOneName(t *testing.T) {
	bin, dir := turnsSetUp(t, slowWait)
	first, out := startCB(t, bin, dir, "launch", "--name", "race", "--detach")
	waitFor(t, filepath.Join(dir, "calls.log"), "docker exec claude-bottle-race-bundle")

	code, _, stderr := runCB(t, bin, dir, "launch", "--name", "race", "--detach")
	if code != exitFailed || !strings.Contains(stderr, "bottle race is busy: claude-bottle pid ") {
		t.Errorf("second launch while the first runs: exit %d, stderr:\n%s", code, stderr)
	}
	if err := first.Wait(); err != nil || out.String() != "race\n" {
		t.Fatalf("first launch: %v, stdout %q", err, out)
	}
	code, _, stderr = runCB(t, bin, dir, "launch", "--name", "race", "--detach")
	if code != exitFailed || !strings.Contains(stderr, "bottle race exists") {
		t.Errorf("launch after the first: exit %d, stderr:\n%s", code, stderr)
	}
	checkRemovedNothing(t, dir)
	checkLeft(t, dir, raceLeft)
}

// TestStopWaitsForLaunch: a stop of a name a launch is bringing up waits
// for it to return, then removes all of it; the launch is not disturbed.
func TestStopWaitsForLaunch(t *testing.T) {
	bin, dir := turnsSetUp(t, slowWait)
	launch, out := startCB(t, bin, dir, "launch", "--name", "race", "--detach")
	waitFor(t, filepath.Join(dir, "calls.log"), "docker exec claude-bottle-race-bundle")

	stop, stopOut := startCB(t, bin, dir, "stop", "race")
	time.Sleep(300 * time.Millisecond)
	checkRemovedNothing(t, dir)
	if err := launch.Wait(); err != nil || out.String() != "race\n" {
		t.Fatalf("launch with a stop waiting: %v, stdout %q", err, out)
	}
	if err := stop.Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	want := "removed container claude-bottle-race-agent\nremoved container claude-bottle-race-bundle\nremoved network claude-bottle-race-net\n"
	if stopOut.String() != want {
		t.Errorf("stop printed %q, want %q", stopOut, want)
	}
	checkLeft(t, dir, "")
}

// TestLaunchDuringStop: a launch of a name a stop is removing is refused
// before it creates anything, and the stop removes the old bottle only.
func TestLaunchDuringStop(t *testing.T) {
	bin, dir := turnsSetUp(t, "")
	if code, _, stderr := runCB(t, bin, dir, "launch", "--name", "race", "--detach"); code != 0 {
		t.Fatalf("launch: exit %d\n%s", code, stderr)
	}
	must(t, os.WriteFile(filepath.Join(dir, "fake.answers"), []byte("match docker rm -f\ndelay 1s\n"), 0o644))
	stop, _ := startCB(t, bin, dir, "stop", "race")
	waitFor(t, filepath.Join(dir, "calls.log"), "docker rm -f")

	code, _, stderr := runCB(t, bin, dir, "launch", "--name", "race", "--detach")
	if code != exitFailed || !strings.Contains(stderr, "bottle race is busy: claude-bottle pid ") || !strings.Contains(stderr, "(stop)") {
		t.Errorf("launch during a stop: exit %d, stderr:\n%s", code, stderr)
	}
	if err := stop.Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := strings.Count(readFile(t, filepath.Join(dir, "calls.log")), "docker network create"); n != 1 {
		t.Errorf("%d networks created, want the first launch's only", n)
	}
	checkLeft(t, dir, "")
}

func turnsSetUp(t *testing.T, answers string) (bin, dir string) {
	t.Helper()
	t.Parallel()
	bin, err := exec.LookPath("claude-bottle")
	if err != nil {
		t.Skip("claude-bottle stand-in binary not on PATH")
	}
	dir = t.TempDir()
	if answers != "" {
		must(t, os.WriteFile(filepath.Join(dir, "fake.answers"), []byte(answers), 0o644))
	}
	return bin, dir
}

// startCB starts claude-bottle; it is killed when the test ends.
func startCB(t *testing.T, bin, dir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := standIn(bin, dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("claude-bottle %s: stderr:\n%s", strings.Join(args, " "), &errb)
		}
	})
	return cmd, &out
}

// runCB runs claude-bottle to its end and returns exit code, stdout, stderr.
func runCB(t *testing.T, bin, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := standIn(bin, dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// checkRemovedNothing: no removal has run yet.
func checkRemovedNothing(t *testing.T, dir string) {
	t.Helper()
	for _, l := range strings.Split(readFile(t, filepath.Join(dir, "calls.log")), "\n") {
		if strings.HasPrefix(l, "docker rm") || strings.HasPrefix(l, "docker network rm") || strings.HasPrefix(l, "smolvm machine delete") {
			t.Errorf("removed: %s", l)
		}
	}
}

func checkLeft(t *testing.T, dir, want string) {
	t.Helper()
	left, err := fake.Leftovers(dir)
	must(t, err)
	if left != want {
		t.Errorf("left:\n%s\nwant:\n%s", left, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

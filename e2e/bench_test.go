//go:build e2e

package e2e

import (
	"regexp"
	"testing"
	"time"
)

// BenchmarkDockerLaunch is a detached docker-backend launch (supervise on)
// and its stop, end to end.
func BenchmarkDockerLaunch(b *testing.B) {
	e := newEnv(b, false)
	for b.Loop() {
		name := "e2e-b-" + uniq()
		out, errs, err := e.cb("launch", "--detach", "--name", name, "--supervise")
		if err != nil || out != name {
			b.Fatalf("launch: %v\n%s", err, errs)
		}
		if _, errs, err := e.cb("stop", name); err != nil {
			b.Fatalf("stop: %v\n%s", err, errs)
		}
	}
}

// BenchmarkBareDockerOps is the floor under a launch: the same docker
// operations by hand, without claude-bottle, the bundle's readiness or
// provisioning content: network, bundle (created, started), agent, one exec
// in each, and their removal.
func BenchmarkBareDockerOps(b *testing.B) {
	for b.Loop() {
		name := "e2e-bare-" + uniq()
		label := "claude-bottle.name=" + name
		steps := [][]string{
			{"network", "create", "--internal", "--label", label, name},
			{"create", "--name", name + "-b", "--label", label, "--network", name, "--entrypoint", "sleep", bundleImage, "300"},
			{"network", "connect", "bridge", name + "-b"},
			{"start", name + "-b"},
			{"exec", name + "-b", "true"},
			{"run", "-d", "--name", name + "-a", "--label", label, "--network", name, agentImage, "sleep", "300"},
			{"exec", name + "-a", "true"},
			{"rm", "-f", name + "-a", name + "-b"},
			{"network", "rm", name},
		}
		for _, s := range steps {
			if _, err := try("docker", s...); err != nil {
				b.Fatalf("docker %v: %v", s, err)
			}
		}
	}
}

var readyRE = regexp.MustCompile(`ready in ([0-9.]+m?s)`)

// TestLaunchTimings prints the per-step durations of a launch.
func TestLaunchTimings(t *testing.T) {
	e := newEnv(t, false)
	name := "e2e-t-" + uniq()
	e.stopAtEnd(name)
	start := time.Now()
	_, errs, err := e.cb("launch", "--detach", "--name", name, "--supervise")
	if err != nil {
		t.Fatalf("launch: %v\n%s", err, errs)
	}
	t.Logf("launch took %s: %s", time.Since(start).Round(time.Millisecond), timingLines(errs))
	if !readyRE.MatchString(errs) {
		t.Errorf("no timing line in the log:\n%s", errs)
	}
}

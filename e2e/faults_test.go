//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBundleRemovedWhileProvisioning: the bundle disappears after the agent
// started (the agent's container and the bundle come up at once: both must
// exist first); the launch fails and leaves nothing.
func TestBundleRemovedWhileProvisioning(t *testing.T) {
	tag := uniq()
	w := newWorld(t, tag)
	e := newEnv(t, false)
	name := "e2e-f-" + tag
	e.stopAtEnd(name)
	cmd := exec.Command(filepath.Join(bins.dir, "claude-bottle"), w.launchArgs(name)...)
	cmd.Env = e.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	must(t, cmd.Start())
	agent, bundle := "claude-bottle-"+name+"-agent", "claude-bottle-"+name+"-bundle"
	waitFor(t, "the agent container and the bundle", 2*time.Minute, func() error {
		_, err := try("docker", "inspect", agent, bundle)
		return err
	})
	run(t, "docker", "rm", "-f", bundle)
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("the launch succeeded without its bundle:\n%s", &errb)
	}
	t.Logf("launch failed as it should: %s", lastLine(errb.String()))
	if left := leftovers(t, name); left != "" {
		t.Errorf("left behind:\n%s", left)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestFiveConcurrentBottles: five launches at once get distinct names and
// ports and all stop cleanly.
func TestFiveConcurrentBottles(t *testing.T) {
	e := newEnv(t, true)
	const n = 5
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, stderr, err := e.cb("--backend", "smolmachines", "launch", "--detach", "--smolvm-net", "tsi", "--supervise")
			names[i] = out
			if err != nil {
				errs[i] = err
				t.Logf("launch %d: %v\n%s", i, err, stderr)
			}
		}()
	}
	wg.Wait()
	for _, nm := range names {
		if nm != "" {
			e.stopAtEnd(nm)
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("launch %d failed: %v", i, err)
		}
	}
	seenName, seenPort := map[string]bool{}, map[string]bool{}
	out := e.mustCB("--backend", "smolmachines", "ls", "--json")
	var ls []struct {
		Name  string   `json:"name"`
		Ports []string `json:"ports"`
	}
	must(t, json.Unmarshal([]byte(out), &ls))
	for _, nm := range names {
		if seenName[nm] {
			t.Errorf("name %s given twice", nm)
		}
		seenName[nm] = true
	}
	for _, b := range ls {
		if !seenName[b.Name] {
			continue
		}
		for _, p := range b.Ports {
			host, _, _ := strings.Cut(p, "->")
			if seenPort[host] {
				t.Errorf("host port %s given twice", host)
			}
			seenPort[host] = true
		}
	}
	if len(seenPort) != 2*n {
		t.Errorf("want %d distinct published ports, got %d: %s", 2*n, len(seenPort), out)
	}
	for _, nm := range names {
		e.mustCB("--backend", "smolmachines", "stop", nm)
		if left := leftovers(t, nm); left != "" {
			t.Errorf("%s left:\n%s", nm, left)
		}
	}
}

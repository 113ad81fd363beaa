//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestBundleHardening is issue 10's findings 6, 8, 11 and 13 on a real
// docker bottle: the daemons serve the bottle network only, the bundle
// forwards nothing, each daemon is its own unprivileged user holding only
// its own secret, and both containers have limits.
func TestBundleHardening(t *testing.T) {
	tag := uniq()
	w := newWorld(t, tag)
	e := newEnv(t, false)
	name := "e2e-h-" + tag
	e.stopAtEnd(name)
	e.mustCB(w.launchArgs(name)...)
	bundle := "claude-bottle-" + name + "-bundle"
	agent := "claude-bottle-" + name + "-agent"
	sh := func(ctr, user, script string) (string, error) {
		return try("docker", "exec", "-u", user, ctr, "sh", "-c", script)
	}

	t.Run("only the bottle network reaches the daemons", func(t *testing.T) {
		bridgeIP := run(t, "docker", "inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", bundle)
		if bridgeIP == "" {
			t.Fatal("the bundle has no address on bridge")
		}
		// An unrelated container on the default bridge, as in the finding.
		other := "e2e-other-" + tag
		label := "claude-bottle.name=" + other
		t.Cleanup(func() { sweep(t, label) })
		run(t, "docker", "run", "-d", "--name", other, "--label", label, toolsImage, "sleep", "300")
		for _, port := range []int{8888, 9418, 9100} {
			probe := fmt.Sprintf("timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%d' && echo open", bridgeIP, port)
			if out, _ := try("docker", "exec", other, "sh", "-c", probe); strings.Contains(out, "open") {
				t.Errorf("a container on bridge connected to the bundle's %s:%d", bridgeIP, port)
			}
			// Control: from the guest, on the bottle network, each one answers.
			ok := fmt.Sprintf("timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%d' && echo open", daemonAlias(port), port)
			if out, err := sh(agent, "node", ok); !strings.Contains(out, "open") {
				t.Errorf("control: the guest cannot reach %s:%d (%v %s): the probe proves nothing", daemonAlias(port), port, err, out)
			}
		}
	})

	t.Run("the bundle forwards nothing", func(t *testing.T) {
		if got, _ := sh(bundle, "root", "cat /proc/sys/net/ipv4/ip_forward"); got != "0" {
			t.Errorf("bundle ip_forward = %q, want 0", got)
		}
	})

	t.Run("capabilities", func(t *testing.T) {
		const netRaw = 13 // CAP_NET_RAW's bit
		for _, ctr := range []string{agent, bundle} {
			capBnd, err := sh(ctr, "root", "sed -n 's/^CapBnd:\t//p' /proc/self/status")
			must(t, err)
			bits, err := strconv.ParseUint(capBnd, 16, 64)
			must(t, err)
			if bits&(1<<netRaw) != 0 {
				t.Errorf("%s keeps CAP_NET_RAW (bounding set %s)", ctr, capBnd)
			}
			if nnp, _ := sh(ctr, "root", "sed -n 's/^NoNewPrivs:\t//p' /proc/self/status"); nnp != "1" {
				t.Errorf("%s: NoNewPrivs = %q, want 1", ctr, nnp)
			}
		}
	})

	t.Run("each daemon is its own user", func(t *testing.T) {
		users := map[string]string{"pipelock run": "10001", "git-gate": "10002", "supervise serve": "10003"}
		ps, err := sh(bundle, "root", `for p in /proc/[0-9]*; do printf '%s %s\n' "$(sed -n 's/^Uid:\t\([0-9]*\).*/\1/p' $p/status)" "$(tr '\0' ' ' < $p/cmdline)"; done`)
		must(t, err)
		for cmd, uid := range users {
			found := false
			for _, line := range strings.Split(ps, "\n") {
				if strings.Contains(line, cmd) && !strings.Contains(line, "for p in") {
					found = true
					if !strings.HasPrefix(line, uid+" ") {
						t.Errorf("%s runs as %q, want uid %s", cmd, line, uid)
					}
				}
			}
			if !found {
				t.Errorf("no process %q in the bundle:\n%s", cmd, ps)
			}
		}
		for path, want := range map[string]string{
			"/run/claude-bottle/pipelock/ca-key.pem":     "pipelock 600",
			"/etc/claude-bottle/credentials/origin":      "git-gate 600",
			"/var/lib/claude-bottle/supervise":           "supervise 700",
			"/var/lib/claude-bottle/supervise-decisions": "root 755",
			"/etc/claude-bottle/secret":                  "root 600",
			"/run/claude-bottle/secrets/git-gate":        "git-gate 400",
			"/run/claude-bottle/secrets/supervise":       "supervise 400",
		} {
			if got, _ := sh(bundle, "root", "stat -c '%U %a' "+path); got != want {
				t.Errorf("%s: %q, want %q", path, got, want)
			}
		}
		// The supervise daemon's user can read neither the CA key nor an SSH key.
		for _, secret := range []string{"/run/claude-bottle/pipelock/ca-key.pem", "/etc/claude-bottle/credentials/origin"} {
			if out, err := sh(bundle, "supervise", "cat "+secret); err == nil {
				t.Errorf("user supervise read %s: %q", secret, out)
			}
		}
		// pipelock's user cannot read the bottle's secret in any copy.
		for _, secret := range []string{"/etc/claude-bottle/secret", "/run/claude-bottle/secrets/git-gate", "/run/claude-bottle/secrets/supervise"} {
			if out, err := sh(bundle, "pipelock", "cat "+secret); err == nil {
				t.Errorf("user pipelock read %s: %q", secret, out)
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		for ctr, want := range map[string]string{agent: "8589934592 4096 2000000000", bundle: "1073741824 512 1000000000"} {
			got := run(t, "docker", "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}", ctr)
			if got != want {
				t.Errorf("%s limits (memory pids nanocpus) = %s, want %s", ctr, got, want)
			}
		}
	})
}

func daemonAlias(port int) string {
	return map[int]string{8888: "pipelock", 9418: "git-gate", 9100: "supervise"}[port]
}

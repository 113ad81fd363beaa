//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guest runs commands in a bottle's guest the way a test inspects it.
type guest struct {
	t         *testing.T
	container string // the agent container, or the smolvm stand-in's guest
	// pod, when set, is the agent's Pod (kubernetes): kubectl exec.
	pod *kubePod
}

// kubePod is a Pod of the test cluster.
type kubePod struct{ kubeconfig, namespace, name string }

// argv runs argv in the guest as user in the workspace; stdin attaches
// the test's.
func (g guest) argv(user string, stdin bool, argv ...string) []string {
	if p := g.pod; p != nil {
		a := []string{"kubectl", "--kubeconfig", p.kubeconfig, "--namespace", p.namespace, "exec"}
		if stdin {
			a = append(a, "-i")
		}
		a = append(a, p.name, "--container", p.name, "--", "runuser", "-u", user, "--", "env", "--chdir=/home/node/workspace")
		return append(a, argv...)
	}
	a := []string{"docker", "exec"}
	if stdin {
		a = append(a, "-i")
	}
	return append(append(a, "-u", user, "-w", "/home/node/workspace", g.container), argv...)
}

// sh runs a shell script in the guest as user and returns stdout; the error
// carries stderr.
func (g guest) sh(user, script string) (string, error) {
	a := g.argv(user, false, "sh", "-c", script)
	return try(a[0], a[1:]...)
}

// put copies a host file into the guest (root's, mode 0755).
func (g guest) put(t *testing.T, src, dst string) {
	if g.pod == nil {
		run(t, "docker", "cp", src, g.container+":"+dst)
		return
	}
	f, err := os.Open(src)
	must(t, err)
	defer f.Close()
	a := g.argv("root", true, "sh", "-c", `cat > "$0" && chmod 755 "$0"`, dst)
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy %s into the pod: %v\n%s", src, err, out)
	}
}

func (g guest) must(user, script string) string {
	g.t.Helper()
	out, err := g.sh(user, script)
	if err != nil {
		g.t.Fatalf("in the guest: %s: %v", script, err)
	}
	return out
}

// TestDockerBottle is the docker backend end to end.
func TestDockerBottle(t *testing.T) {
	tag := uniq()
	w := newWorld(t, tag)
	e := newEnv(t, false)
	name := "e2e-d-" + tag
	e.stopAtEnd(name)
	if out := e.mustCB(w.launchArgs(name)...); out != name {
		t.Fatalf("launch printed %q, want the name %s", out, name)
	}
	g := guest{t: t, container: "claude-bottle-" + name + "-agent"}

	t.Run("network", func(t *testing.T) {
		net := "claude-bottle-" + name + "-net"
		if got := run(t, "docker", "network", "inspect", "--format", "{{.Internal}}", net); got != "true" {
			t.Errorf("network internal = %s", got)
		}
		if ports := run(t, "docker", "inspect", "--format", "{{json .HostConfig.PortBindings}}", g.container); ports != "{}" && ports != "null" {
			t.Errorf("agent publishes %s", ports)
		}
		nets := run(t, "docker", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", g.container)
		if strings.TrimSpace(nets) != net {
			t.Errorf("agent networks: %q, want only %s", nets, net)
		}
	})
	checkProvisioned(t, g, w, "http://supervise:9100/"+guestSecret(t, g)+"/")
	checkEgress(t, g, w)
	checkGit(t, g, w)
	checkSupervise(t, e, g, w, name)
	checkNoBypass(t, g, w, name)

	checkLogs(t, e, name)

	t.Run("stop", func(t *testing.T) {
		out := e.mustCB("stop", name)
		if !strings.Contains(out, "removed container claude-bottle-"+name+"-bundle") {
			t.Errorf("stop printed %q", out)
		}
		if left := leftovers(t, name); left != "" {
			t.Errorf("left behind after stop:\n%s", left)
		}
		if _, errs, err := e.cb("stop", name); err != nil {
			t.Errorf("second stop: %v %s", err, errs)
		}
	})
}

// checkLogs: the bundle's log has a line of each daemon.
func checkLogs(t *testing.T, e *bottleEnv, name string) {
	t.Run("logs", func(t *testing.T) {
		out := e.mustCB("logs", name)
		for _, d := range []string{"[pipelock]", "[git-gate]", "[supervise]"} {
			if !strings.Contains(out, d) {
				t.Errorf("the bundle's log has no %s line:\n%s", d, out)
			}
		}
	})
}

// checkProvisioned: CA trusted, workspace checked out at the host's HEAD,
// prompt and skills owned by node, the MCP registration recorded, and no
// credential anywhere in the guest.
func checkProvisioned(t *testing.T, g guest, w *world, superviseURL string) {
	t.Run("provisioned", func(t *testing.T) {
		// egress runs (the suite's ANTHROPIC_API_KEY): its file holds egress's CA and pipelock's
		g.must("root", `for l in $(grep -h -A1 BEGIN /usr/local/share/ca-certificates/claude-bottle-egress.crt | grep -v -e BEGIN -e --); do grep -q "$l" /etc/ssl/certs/ca-certificates.crt || exit 1; done`)
		if head := g.must("node", "git rev-parse HEAD"); head != w.head {
			t.Errorf("workspace HEAD %s, host %s", head, w.head)
		}
		if st := g.must("node", "git status --porcelain"); st != "" {
			t.Errorf("workspace not clean:\n%s", st)
		}
		if got := g.must("root", "stat -c '%U %a' /home/node/.claude-bottle-prompt.txt"); got != "node 600" {
			t.Errorf("prompt: %s, want node 600", got)
		}
		if got := g.must("root", "find /home/node/.claude/skills ! -user node | head -5"); got != "" {
			t.Errorf("skill files not owned by node:\n%s", got)
		}
		for _, s := range w.skills {
			base := filepath.Base(s)
			want, _ := os.ReadFile(filepath.Join(s, "SKILL.md"))
			if got := g.must("node", "cat /home/node/.claude/skills/"+base+"/SKILL.md"); got != strings.TrimSpace(string(want)) {
				t.Errorf("skill %s: %q", base, got)
			}
			if got := g.must("root", "stat -c '%a' /home/node/.claude/skills/"+base+"/bin/run.sh"); got != "755" {
				t.Errorf("skill %s run.sh mode %s, want 755", base, got)
			}
		}
		log := g.must("node", "cat /home/node/.claude-standin.log")
		if !strings.Contains(log, "mcp add --scope user --transport http supervise "+superviseURL) {
			t.Errorf("stand-in claude recorded:\n%s\nwant mcp add … %s", log, superviseURL)
		}
		key, _ := os.ReadFile(w.key)
		keyLine := strings.Split(string(key), "\n")[1] // the key material's first line
		if found := g.must("root", "grep -rlsF '"+keyLine+"' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev || true"); found != "" {
			t.Errorf("the upstream's private key is in the guest: %s", found)
		}
		if env := g.must("node", "env"); strings.Contains(env, realKey) || !strings.Contains(env, "ANTHROPIC_API_KEY=sk-ant-api03-bottle-") {
			t.Errorf("the guest's ANTHROPIC_API_KEY is not the bottle token (egress)")
		}
	})
}

// checkEgress: the allowed server answers through the proxy with TLS
// verification on; a host off the allowlist gets 403; so does a private
// server on the allowlist that --allow-private does not trust (pipelock's
// SSRF guard, which the stand-in enforces too).
func checkEgress(t *testing.T, g guest, w *world) {
	t.Run("egress", func(t *testing.T) {
		out := g.must("node", "curl -sS -m 30 https://"+w.allowed+":8443/")
		if !strings.Contains(out, "s_server") {
			t.Errorf("allowed server answered %q", out)
		}
		out, err := g.sh("node", "curl -sS -m 30 -o /dev/null -w '%{http_code}' https://blocked.example.com/ 2>&1")
		if err == nil || !strings.Contains(out+err.Error(), "403") {
			t.Errorf("off-allowlist host: %q, %v; want a 403", out, err)
		}
		out, err = g.sh("node", "curl -sS -m 30 -o /dev/null -w '%{http_code}' https://"+w.untrusted+":8443/ 2>&1")
		if err == nil || !strings.Contains(out+err.Error(), "403") {
			t.Errorf("allowlisted, untrusted private server over CONNECT: %q, %v; want a 403", out, err)
		}
		// Plain HTTP shows pipelock's reason (the server speaks TLS: never reached).
		want := "SSRF blocked: " + w.untrusted + " resolves to internal IP " + w.untrusted
		if out, _ := g.sh("node", "curl -sS -m 30 http://"+w.untrusted+":8443/ 2>&1"); !strings.Contains(out, want) {
			t.Errorf("allowlisted, untrusted private server over HTTP: %q, want %q", out, want)
		}
	})
}

// checkGit: ls-remote and push go through the gate to the upstream; a push
// the upstream rejects is rejected; with the upstream down, a fetch fails.
func checkGit(t *testing.T, g guest, w *world) {
	t.Run("git", func(t *testing.T) {
		ls := g.must("node", "git ls-remote origin")
		if !strings.Contains(ls, w.head+"\trefs/heads/main") {
			t.Errorf("ls-remote origin:\n%s", ls)
		}
		g.must("node", "git -c user.name=agent -c user.email=a@example.com commit -q --allow-empty -m from-the-bottle && git push -q origin HEAD:refs/heads/e2e")
		pushed := g.must("node", "git rev-parse HEAD")
		if got := run(t, "docker", "exec", w.upstream, "git", "--git-dir=/srv/git/app.git", "rev-parse", "refs/heads/e2e"); got != pushed {
			t.Errorf("upstream e2e = %s, pushed %s", got, pushed)
		}
		run(t, "docker", "exec", w.upstream, "sh", "-c",
			`printf '#!/bin/sh\nwhile read o n r; do [ "$r" = refs/heads/rejected ] && { echo no; exit 1; }; done; exit 0\n' > /srv/git/app.git/hooks/pre-receive && chmod 755 /srv/git/app.git/hooks/pre-receive`)
		if out, err := g.sh("node", "git push origin HEAD:refs/heads/rejected 2>&1"); err == nil {
			t.Errorf("a push the upstream rejects was accepted:\n%s", out)
		}
		run(t, "docker", "pause", w.upstream)
		defer run(t, "docker", "unpause", w.upstream)
		start := time.Now()
		out := g.must("node", `timeout 50 git ls-remote origin 2>&1; echo "exit=$?"`)
		switch {
		case strings.HasSuffix(out, "exit=0"):
			t.Errorf("with the upstream down, ls-remote served:\n%s", out)
		case strings.HasSuffix(out, "exit=124"):
			t.Errorf("with the upstream down, ls-remote hung for 50 s instead of failing")
		default:
			t.Logf("with the upstream down, ls-remote failed after %s: %s", time.Since(start).Round(time.Millisecond), lastLine(out))
		}
	})
}

// checkSupervise: an MCP call from the guest waits for the operator; after
// the approval, the proxy lets the host through without a restart.
func checkSupervise(t *testing.T, e *bottleEnv, g guest, w *world, name string) {
	t.Run("supervise", func(t *testing.T) {
		if out, err := g.sh("node", "curl -sS -m 30 -o /dev/null -w '%{http_code}' https://"+w.approvable+":8443/ 2>&1"); err == nil {
			t.Fatalf("the unapproved server answered: %s", out)
		}
		g.put(t, filepath.Join(bins.dir, "mcpcall"), "/usr/local/bin/mcpcall")
		url := superviseURL(t, g)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		a := g.argv("node", false, "mcpcall", url, "request_egress", "host="+w.approvable, "reason=e2e needs it")
		call := exec.CommandContext(ctx, a[0], a[1:]...)
		var out bytes.Buffer
		call.Stdout, call.Stderr = &out, &out
		must(t, call.Start())
		done := make(chan error, 1)
		go func() { done <- call.Wait() }()
		var id string
		waitFor(t, "the request to reach the operator", time.Minute, func() error {
			ls, _, err := e.cb("supervise", "ls", name)
			if err != nil {
				return err
			}
			for _, f := range strings.Fields(ls) {
				if strings.HasPrefix(f, "r") && len(f) < 6 && strings.Contains(ls, w.approvable) {
					id = f
					return nil
				}
			}
			return fmt.Errorf("not yet: %q", ls)
		})
		select {
		case err := <-done:
			t.Fatalf("the call returned before the operator answered: %v %s", err, &out)
		default:
		}
		e.mustCB("supervise", "approve", name, id, "--note", "go ahead")
		select {
		case err := <-done:
			if err != nil || !strings.Contains(strings.ToLower(out.String()), "approved") || !strings.Contains(out.String(), "go ahead") {
				t.Fatalf("call ended %v: %s", err, &out)
			}
		case <-time.After(time.Minute):
			t.Fatal("the call did not return after the approval")
		}
		waitFor(t, "the approved host to pass", 30*time.Second, func() error {
			_, err := g.sh("node", "curl -sS -m 20 -o /dev/null https://"+w.approvable+":8443/")
			return err
		})
		if all, _, _ := e.cb("supervise", "ls", name, "--all"); !strings.Contains(all, "approve") {
			t.Errorf("audit log lacks the decision:\n%s", all)
		}
	})
}

// checkNoBypass: without the proxy the guest reaches nothing — neither the
// test server nor a service listening on all of the host's interfaces (the
// bottle network has no host address, inhibit_ipv4). A control network
// without the option shows that the check can fail.
func checkNoBypass(t *testing.T, g guest, w *world, name string) {
	t.Run("no bypass", func(t *testing.T) {
		if out, err := g.sh("node", "curl -sS -m 5 --noproxy '*' https://"+w.allowed+":8443/ 2>&1"); err == nil {
			t.Errorf("direct connection to the server worked:\n%s", out)
		}
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		must(t, err)
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Read(make([]byte, 4096)) // the request: closing unread would reset the connection
				c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nhost service\n"))
				c.Close()
			}
		}()
		port := ln.Addr().(*net.TCPAddr).Port
		probe := fmt.Sprintf("curl -sS -m 4 --noproxy '*' http://%%s:%d/ 2>&1", port)
		gw := run(t, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "claude-bottle-"+name+"-net")
		if out, _ := g.sh("node", fmt.Sprintf(probe, gw)); strings.Contains(out, "host service") {
			t.Errorf("the guest reached a host service through the gateway %s:\n%s", gw, out)
		}
		// Control: an --internal network without inhibit_ipv4 does reach it.
		ctl := "e2e-ctl-" + uniq()
		label := "claude-bottle.name=" + ctl
		t.Cleanup(func() { sweep(t, label) })
		run(t, "docker", "network", "create", "--internal", "--label", label, ctl)
		run(t, "docker", "run", "-d", "--name", ctl, "--label", label, "--network", ctl, toolsImage, "sleep", "300")
		cgw := run(t, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", ctl)
		out, err := try("docker", "exec", ctl, "sh", "-c", fmt.Sprintf(probe, cgw))
		if !strings.Contains(out, "host service") {
			t.Errorf("control: a plain --internal network did not reach the host service at %s (%v %s): the probe proves nothing", cgw, err, out)
		}
	})
}

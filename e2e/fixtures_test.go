//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// world is what a scenario launches a bottle against: a host repository,
// an SSH upstream holding it, HTTPS test servers, a prompt and two skills.
type world struct {
	dir        string
	repo       string // host repository (--cwd)
	head       string // its HEAD commit
	upstream   string // upstream container name
	upURL      string // ssh://git@IP/srv/git/app.git
	key        string // private key for the upstream (--git-credential)
	knownHosts string
	allowed    string // IP of an HTTPS server on the allowlist, trusted (--allow-private)
	approvable string // IP of an HTTPS server off it until supervise approves, trusted (--allow-private IP/32)
	untrusted  string // IP of an HTTPS server on the allowlist (--allow-host), not trusted
	prompt     string
	skills     []string
}

func newWorld(t *testing.T, tag string) *world {
	w := &world{dir: t.TempDir()}
	w.hostRepo(t)
	w.sshUpstream(t, "e2e-up-"+tag)
	w.allowed = httpsServer(t, "e2e-tls1-"+tag)
	w.approvable = httpsServer(t, "e2e-tls2-"+tag)
	w.untrusted = httpsServer(t, "e2e-tls3-"+tag)
	w.prompt = filepath.Join(w.dir, "prompt.txt")
	must(t, os.WriteFile(w.prompt, []byte("Make the tests pass.\n"), 0o644))
	for _, s := range []string{"review", "deploy"} {
		d := filepath.Join(w.dir, "skills", s)
		must(t, os.MkdirAll(filepath.Join(d, "bin"), 0o755))
		must(t, os.WriteFile(filepath.Join(d, "SKILL.md"), []byte("# "+s+"\nUse it well.\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(d, "bin", "run.sh"), []byte("#!/bin/sh\necho "+s+"\n"), 0o755))
		w.skills = append(w.skills, d)
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hostRepo makes the repository the bottle works on, one commit on main.
func (w *world) hostRepo(t *testing.T) {
	w.repo = filepath.Join(w.dir, "app")
	must(t, os.MkdirAll(w.repo, 0o755))
	git := func(args ...string) string {
		return run(t, "git", append([]string{"-C", w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	}
	git("init", "-q", "-b", "main")
	must(t, os.WriteFile(filepath.Join(w.repo, "README"), []byte("app\n"), 0o644))
	git("add", "README")
	git("commit", "-q", "-m", "init")
	w.head = git("rev-parse", "HEAD")
}

// sshUpstream starts an sshd with a bare repository seeded from the host
// repository, reachable as git@IP with a key made for the test; its host
// key is pinned in known_hosts.
func (w *world) sshUpstream(t *testing.T, name string) {
	w.key = filepath.Join(w.dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", w.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(w.key + ".pub")
	must(t, err)
	script := `set -e
useradd -m -d /home/git -s /bin/sh git
mkdir -p /home/git/.ssh /srv/git /run/sshd
printf '%s\n' "$PUBKEY" > /home/git/.ssh/authorized_keys
git init -q --bare -b main /srv/git/app.git
chown -R git:git /home/git /srv/git
chmod 700 /home/git/.ssh
ssh-keygen -A
exec /usr/sbin/sshd -D -e`
	ip := service(t, name, "-e", "PUBKEY="+strings.TrimSpace(string(pub)), toolsImage, "sh", "-c", script)
	w.upstream = name
	waitFor(t, "upstream sshd", 30*time.Second, func() error {
		_, err := try("docker", "exec", name, "test", "-s", "/etc/ssh/ssh_host_ed25519_key.pub")
		return err
	})
	hostKey := run(t, "docker", "exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
	fields := strings.Fields(hostKey)
	w.knownHosts = filepath.Join(w.dir, "known_hosts")
	must(t, os.WriteFile(w.knownHosts, []byte(ip+" "+fields[0]+" "+fields[1]+"\n"), 0o644))
	run(t, "docker", "cp", w.repo, name+":/tmp/seed")
	run(t, "docker", "exec", name, "sh", "-c",
		"git config --global --add safe.directory '*' && git -C /tmp/seed push -q /srv/git/app.git main && chown -R git:git /srv/git")
	w.upURL = "ssh://git@" + ip + "/srv/git/app.git"
	run(t, "git", "-C", w.repo, "remote", "add", "origin", w.upURL)
}

// certScript makes, in a tools container, a key and a certificate for the
// container's own IP signed by the e2e test CA (/tmp/k.pem, /tmp/c.pem).
const certScript = `set -e
ip=$(hostname -i | cut -d' ' -f1)
printf 'subjectAltName=IP:%s\n' "$ip" > /tmp/ext
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/k.pem -subj "/CN=$ip" 2>/dev/null |
  openssl x509 -req -CA /etc/e2e-ca/ca.pem -CAkey /etc/e2e-ca/ca-key.pem -CAcreateserial -CAserial /tmp/serial \
    -days 1 -extfile /tmp/ext -out /tmp/c.pem 2>/dev/null
`

// httpsServer starts an HTTPS server (openssl s_server, a certificate for
// its own IP signed by the e2e test CA) and returns its IP; it listens on 8443.
func httpsServer(t *testing.T, name string) string {
	script := certScript + `exec openssl s_server -accept 8443 -cert /tmp/c.pem -key /tmp/k.pem -www -quiet`
	ip := service(t, name, toolsImage, "sh", "-c", script)
	waitFor(t, "https server "+name, 30*time.Second, func() error {
		_, err := try("docker", "exec", name, "sh", "-c", "openssl s_client -connect 127.0.0.1:8443 </dev/null >/dev/null 2>&1")
		return err
	})
	return ip
}

// launchArgs is the full launch of the issue: cwd, prompt, two skills,
// upstream with a credential, supervise, the test servers, detached. The
// servers are on docker's private bridge, so pipelock's SSRF guard refuses
// them unless the launch trusts them, as a user of a private host must:
// the allowed one with --allow-private, the approvable one by its address
// only (an approval can put it on the allowlist, never trust it: pipelock
// refuses a reload that widens trust); the untrusted one is allowlisted
// and refused.
func (w *world) launchArgs(name string) []string {
	a := []string{"launch", "--detach", "--name", name, "--cwd", w.repo, "--prompt", w.prompt,
		"--upstream", "origin=" + w.upURL, "--git-credential", "origin=" + w.key, "--known-hosts", w.knownHosts,
		"--allow-private", w.allowed, "--allow-private", w.approvable + "/32", "--allow-host", w.untrusted, "--supervise"}
	for _, s := range w.skills {
		a = append(a, "--skill", s)
	}
	return a
}

package fake

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The smolvm stand-in can run each machine's guest as a docker container
// in the host's network namespace (FAKE_SMOLVM_GUEST=docker, for the
// end-to-end suite): as with TSI, the guest's 127.0.0.1 is the host's
// loopback. It keeps the same contract checks; the container is named
// smolvm-<machine> and labelled like the machine.

// guestMode reports whether machines run as containers.
func guestMode(p *Proc) bool {
	v, _ := p.Env("FAKE_SMOLVM_GUEST")
	return v == "docker"
}

func guestContainer(machine string) string { return "smolvm-" + machine }

// dockerCmd runs docker with the stand-in's streams and returns its exit code.
func dockerCmd(p *Proc, stdin bool, args ...string) int {
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stderr
	if stdin {
		cmd.Stdin = p.Stdin
	}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(p.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// bootGuest loads the machine's image and starts its container.
func bootGuest(p *Proc, name string, m *Machine) int {
	image := m.Image
	if isLocal(image) && image != "-" {
		out, err := exec.Command("docker", "load", "--input", image).CombinedOutput()
		if err != nil {
			return smolErr(p, "agent operation failed: load image %s: %v: %s", image, err, out)
		}
		image = loadedImage(string(out))
		if image == "" {
			return smolErr(p, "agent operation failed: load image: docker load printed %q", out)
		}
	}
	args := []string{"run", "--detach", "--name", guestContainer(name),
		"--network", "host", // TSI: the guest's loopback is the host's
		"--label", "claude-bottle.smolvm-standin=" + name}
	for k, v := range m.Labels {
		args = append(args, "--label", k+"="+v)
	}
	if m.DNSFilter {
		mounts, err := dnsFilterFiles(p.Dir, name, m)
		if err != nil {
			return smolErr(p, "agent operation failed: boot: DNS filter: %v", err)
		}
		args = append(args, mounts...)
	}
	var env []string
	for _, e := range m.Env {
		args = append(args, "-e", e)
	}
	for _, s := range m.Secrets {
		g, h, _ := strings.Cut(s, "=")
		if v, ok := p.Env(h); ok {
			args = append(args, "-e", g) // by name: the value travels in docker's environment
			env = append(env, g+"="+v)
		}
	}
	args = append(args, image)
	args = append(args, m.Workload...)
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return smolErr(p, "agent operation failed: boot: %v: %s", err, out)
	}
	return 0
}

// loadedImage reads `docker load` output: "Loaded image: NAME" or "Loaded image ID: ID".
func loadedImage(out string) string {
	for _, l := range strings.Split(out, "\n") {
		for _, p := range []string{"Loaded image: ", "Loaded image ID: "} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), p); ok {
				return v
			}
		}
	}
	return ""
}

// execGuest runs argv in the guest container (as the image's user, like
// smolvm 1.9.2), with the streams passed through. With -d it starts argv
// in the background, its streams closed, and prints its guest PID.
func execGuest(p *Proc, name string, f flags, argv []string) int {
	if f.has("-d") {
		argv = append([]string{"sh", "-c", `"$@" </dev/null >/dev/null 2>&1 & echo $!`, "sh"}, argv...)
	}
	args := []string{"exec"}
	if f.has("-i") {
		args = append(args, "-i")
	}
	if f.has("-t") {
		args = append(args, "-t")
	}
	if w := f.one("-w", "--workdir"); w != "" {
		args = append(args, "-w", w)
	}
	for _, e := range f.all("-e", "--env") {
		args = append(args, "-e", e)
	}
	args = append(args, guestContainer(name))
	return dockerCmd(p, f.has("-i"), append(args, argv...)...)
}

// dnsFilterFiles models smolvm's DNS filter in a guest that shares the
// host's network namespace: the guest's hosts file has the allowed names
// (as resolved at create) and its resolver is a loopback address where
// nothing answers, so any other name fails without a query leaving.
func dnsFilterFiles(dir, machine string, m *Machine) ([]string, error) {
	d := filepath.Join(dir, "dns-"+machine)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	hosts := "127.0.0.1\tlocalhost\n"
	for _, h := range m.AllowHosts {
		for _, a := range m.Resolved[h] {
			hosts += a + "\t" + h + "\n"
		}
	}
	resolv := "# smolvm stand-in: DNS filter (only --allow-host names resolve)\nnameserver 127.0.0.254\noptions timeout:1 attempts:1\n"
	for name, content := range map[string]string{"hosts": hosts, "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return []string{"-v", filepath.Join(d, "hosts") + ":/etc/hosts:ro", "-v", filepath.Join(d, "resolv.conf") + ":/etc/resolv.conf:ro"}, nil
}

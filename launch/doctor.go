package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/kube"
	"github.com/claude-bottle/claude-bottle/shell"
)

// Check is one line of `doctor`: what was checked, whether it is fine, and
// how to fix it when it is not.
type Check struct {
	What   string
	OK     bool
	Detail string
	Fix    string
	// Info is printed under the line when the check passes (the image ID
	// in use: a stale local tag shows as an old ID).
	Info string
	// Needed: a failure means a launch on the chosen backend would fail.
	Needed bool
}

// DoctorEnv is what doctor checks besides commands.
type DoctorEnv struct {
	Backend     string
	AgentImage  string
	BundleImage string
	// KVM reports whether /dev/kvm can be opened read-write ("" when fine,
	// else the reason); nil on hosts without KVM (macOS).
	KVM func() string
	// Getenv reads claude-bottle's environment (the model credential
	// egress will use); nil skips that check.
	Getenv func(string) (string, bool)
	// Cluster is kubectl's context and the namespace prefix (kubernetes).
	Cluster kube.Cluster
}

// Doctor runs the checks and returns them in order.
func Doctor(ctx context.Context, r shell.Runner, env DoctorEnv) []Check {
	if env.Backend == Kubernetes {
		return kubeDoctor(ctx, r, env)
	}
	smol := env.Backend == Smolmachines
	var checks []Check
	add := func(c Check) { checks = append(checks, c) }

	client, err := shell.Output(ctx, r, "docker", "version", "--format", "{{.Client.Version}}")
	add(Check{What: "docker client", OK: err == nil, Detail: orErr(client, err), Needed: true,
		Fix: "install Docker (docker.com/get-started) and put `docker` on PATH"})
	server, err := shell.Output(ctx, r, "docker", "version", "--format", "{{.Server.Version}}")
	add(Check{What: "docker daemon", OK: err == nil, Detail: orErr(server, err), Needed: true,
		Fix: "start the Docker daemon, or check DOCKER_HOST and that your user may use it"})
	for _, img := range []struct{ role, name string }{{"bundle", env.BundleImage}, {"agent", env.AgentImage}} {
		if smol && img.role == "agent" && isLocalImage(img.name) {
			continue
		}
		id, err := shell.Output(ctx, r, "docker", "image", "inspect", "--format", "{{.Id}}", img.name)
		add(Check{What: img.role + " image " + img.name, OK: err == nil, Detail: orErr("present", err), Needed: true,
			Info: "image ID " + strings.TrimSpace(id),
			Fix:  "run `claude-bottle images build` (or pass --" + img.role + "-image)"})
	}
	version, err := shell.Output(ctx, r, "smolvm", "--version")
	add(Check{What: "smolvm", OK: err == nil, Detail: orErr(version, err), Needed: smol,
		Fix: "install smolvm (curl -sSL https://smolmachines.com/install.sh | bash); needed for --backend smolmachines"})
	if err == nil {
		add(versionCheck(version))
		help, herr := shell.Output(ctx, r, "smolvm", "machine", "create", "--help")
		mode := ProbeNet(help)
		add(Check{What: "smolvm network mode", OK: herr == nil, Detail: orErr("--smolvm-net auto uses "+mode, herr),
			Needed: smol, Fix: "reinstall smolvm; `smolvm machine create --help` must work"})
	}
	if env.KVM != nil {
		reason := env.KVM()
		var kvmErr error
		if reason != "" {
			kvmErr = errors.New(reason)
		}
		add(Check{What: "/dev/kvm", OK: reason == "", Detail: orErr("read-write", kvmErr), Needed: smol,
			Fix: "add your user to the kvm group (sudo usermod -aG kvm $USER) and log in again"})
	}
	if env.Getenv != nil {
		add(egressCheck(env.Getenv))
	}
	return checks
}

// PrintChecks writes one ok/fail line per check and reports whether a
// launch would fail.
func PrintChecks(w io.Writer, checks []Check) (launchWouldFail bool) {
	for _, c := range checks {
		status := "ok  "
		if !c.OK {
			status = "fail"
			if !c.Needed {
				status = "warn"
			}
		}
		fmt.Fprintf(w, "%s %s: %s\n", status, c.What, c.Detail)
		if c.OK && c.Info != "" {
			fmt.Fprintf(w, "     %s\n", c.Info)
		}
		if !c.OK {
			fmt.Fprintf(w, "     fix: %s\n", c.Fix)
			launchWouldFail = launchWouldFail || c.Needed
		}
	}
	return launchWouldFail
}

func orErr(ok string, err error) string {
	if err == nil {
		return ok
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// SmolvmContract is the smolvm release whose CLI contract claude-bottle
// follows (shared/reference/smolvm-cli.md).
const SmolvmContract = "1.9.2"

// versionCheck compares `smolvm --version` with the contract: an older
// release is a warning (its flags may differ), not a failure.
func versionCheck(out string) Check {
	c := Check{What: "smolvm version", Fix: "upgrade smolvm to " + SmolvmContract + " or later"}
	fields := strings.Fields(out)
	got := ""
	if len(fields) > 0 {
		got = fields[len(fields)-1]
	}
	c.OK = compareVersions(got, SmolvmContract) >= 0
	c.Detail = fmt.Sprintf("%s (claude-bottle follows the %s contract)", got, SmolvmContract)
	if got == "" || compareVersions(got, "0") == 0 {
		c.OK, c.Detail = false, fmt.Sprintf("cannot read a version in %q", out)
	}
	return c
}

// compareVersions compares dotted numeric versions ("1.9.2" < "1.10").
// Anything that is not a number counts as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

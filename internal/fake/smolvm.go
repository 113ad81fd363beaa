package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

// Machine is a smolvm machine the stand-in created.
type Machine struct {
	Image      string            `json:"image"`
	Labels     map[string]string `json:"labels"`
	Backend    string            `json:"backend"` // none, tsi, virtio-net
	AllowCIDRs []string          `json:"allow_cidrs,omitempty"`
	AllowHosts []string          `json:"allow_hosts,omitempty"`
	// Resolved are the allowed hosts' addresses, resolved on the host at
	// create; DNSFilter is on when any --allow-host was given (virtio-net):
	// only those names resolve in the guest, others get NXDOMAIN.
	Resolved  map[string][]string `json:"resolved,omitempty"`
	DNSFilter bool                `json:"dns_filter,omitempty"`
	Env       []string            `json:"env,omitempty"`
	Secrets   []string            `json:"secrets,omitempty"` // GUEST=HOST_VAR references
	Workload  []string            `json:"workload,omitempty"`
	State     string              `json:"state"`
	CreatedAt int64               `json:"created_at"`
	Session   *Session            `json:"session,omitempty"` // the agent's session
}

// SmolvmVersion is the version whose contract the stand-in keeps.
const SmolvmVersion = "1.9.2"

// createHelp is the part of `smolvm machine create --help` launch probes.
const createHelp = `Create a new machine (does not start it)

Usage: smolvm machine create [OPTIONS] [-- <COMMAND>...]

Options:
  -n, --name <NAME>               Machine name
      --label <KEY=VALUE>         Metadata label (repeatable)
  -I, --image <IMAGE>             OCI image or local archive
      --net                       Enable outbound networking
      --net-backend <BACKEND>     Network backend [possible values: tsi, virtio-net]
      --allow-cidr <CIDR>         Egress allowlist entry (repeatable)
      --allow-host <HOST>         Egress allowlist host (repeatable)
  -e, --env <KEY=VALUE>           Environment variable
      --secret-env <GUEST=HOST>   Secret env reference
  -h, --help                      Print help
`

var vmNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func validVMName(n string) bool {
	return vmNameRE.MatchString(n) && !strings.HasSuffix(n, "-") && !strings.Contains(n, "--")
}

// smolErr prints smolvm's error line and exits 1.
func smolErr(p *Proc, format string, a ...any) int {
	fmt.Fprintf(p.Stderr, "Error: %s\n", fmt.Sprintf(format, a...))
	return 1
}

func (st *State) smolvm(p *Proc) int {
	args := p.Args
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintf(p.Stdout, "smolvm %s\n", SmolvmVersion)
		return 0
	}
	if len(args) < 2 || args[0] != "machine" {
		return usage(p, "smolvm", "error: unrecognized subcommand %q", strings.Join(args, " "))
	}
	sub, rest := args[1], args[2:]
	switch sub {
	case "create":
		return st.smolCreate(p, rest)
	case "start":
		return st.smolStart(p, rest)
	case "exec":
		return st.smolExec(p, rest)
	case "delete", "rm":
		return st.smolDelete(p, rest)
	case "stop":
		return st.smolStop(p, rest)
	case "ls", "list":
		return st.smolLs(p, rest)
	case "status":
		return st.smolStatus(p, rest)
	}
	return usage(p, "smolvm", "error: unrecognized subcommand '%s'", sub)
}

func (st *State) smolCreate(p *Proc, args []string) int {
	f, workload, err := parse(args, []string{"-n", "--name", "--label", "-I", "--image", "--cpus", "--mem", "--storage",
		"--overlay", "-v", "--volume", "-p", "--port", "--net-backend", "--dns", "--network", "--allow-cidr",
		"--allow-host", "-e", "--env", "--secret-env", "--secret-file", "-w", "--workdir", "--init", "-s", "--smolfile"},
		[]string{"--net", "--outbound-localhost-only", "-h", "--help"}, false)
	if err != nil {
		return usage(p, "smolvm", "error: %v", err)
	}
	if f.has("--help") || f.has("-h") {
		fmt.Fprint(p.Stdout, createHelp)
		return 0
	}
	if pos := f["_"]; len(pos) > 0 {
		return usage(p, "smolvm", "error: unexpected argument '%s' found (the name is --name)", pos[0])
	}
	name := f.one("-n", "--name")
	if !validVMName(name) {
		return smolErr(p, "config operation failed: create machine: invalid machine name '%s'", name)
	}
	if _, ok := st.Machines[name]; ok {
		return smolErr(p, "config operation failed: create machine: machine '%s' already exists or is being created", name)
	}
	m := &Machine{Labels: labels(f.all("--label")), State: "created", CreatedAt: 1764201600 + st.Clock, Workload: workload}
	if code := st.smolNetwork(p, f, m); code != 0 {
		return code
	}
	if code := smolImage(p, f.one("-I", "--image"), m); code != 0 {
		return code
	}
	if code := smolEnv(p, f, m); code != 0 {
		return code
	}
	st.Machines[name] = m
	fmt.Fprintf(p.Stdout, "Created machine: %s\n", name)
	return 0
}

// smolNetwork applies smolvm 1.9.2's backend selection: --net alone is TSI;
// any egress policy switches to virtio-net, and explicit TSI with a policy
// is refused.
func (st *State) smolNetwork(p *Proc, f flags, m *Machine) int {
	for _, c := range f.all("--allow-cidr") {
		if !validCIDR(c) {
			return smolErr(p, "invalid CIDR '%s': expected format like 10.0.0.0/8 or 1.1.1.1", c)
		}
	}
	m.Resolved = map[string][]string{}
	for _, h := range f.all("--allow-host") {
		if strings.Contains(h, ":") {
			return smolErr(p, "invalid --allow-host '%s': port suffixes are not supported", h)
		}
		addrs, err := resolveOnHost(h)
		if err != nil {
			return smolErr(p, "failed to resolve '%s': %v", h, err)
		}
		m.Resolved[h] = addrs
	}
	m.AllowCIDRs, m.AllowHosts = f.all("--allow-cidr"), f.all("--allow-host")
	m.DNSFilter = len(m.AllowHosts) > 0
	policy := len(m.AllowCIDRs) > 0 || len(m.AllowHosts) > 0 || f.has("--outbound-localhost-only") || f.has("-p") || f.has("--port") || f.has("--network")
	intent := policy || f.has("--net") || f.has("--dns")
	switch nb := f.one("--net-backend"); {
	case nb == "tsi" && policy:
		return smolErr(p, "egress policy (--allow-cidr/--allow-host/--outbound-localhost-only) requires the virtio-net backend; TSI does not enforce it")
	case nb == "virtio-net" && !intent:
		return smolErr(p, "--net-backend virtio-net requires --net")
	case nb != "" && nb != "tsi" && nb != "virtio-net":
		return usage(p, "smolvm", "error: invalid value '%s' for '--net-backend'", nb)
	case nb != "":
		m.Backend = nb
	case policy:
		m.Backend = "virtio-net"
	case intent:
		m.Backend = "tsi"
	default:
		m.Backend = "none"
	}
	return 0
}

func validCIDR(s string) bool {
	if _, _, err := net.ParseCIDR(s); err == nil {
		return true
	}
	return net.ParseIP(s) != nil
}

// smolImage checks the image source: local archives must exist; a registry
// image needs a network (the pull runs in the guest).
func smolImage(p *Proc, img string, m *Machine) int {
	m.Image = img
	if img == "" {
		return 0
	}
	if isLocal(img) {
		if img != "-" {
			if _, err := os.Stat(img); err != nil {
				return smolErr(p, "config operation failed: create machine: image archive '%s': %v", img, err)
			}
		}
		return 0
	}
	if m.Backend == "none" {
		return smolErr(p, "config operation failed: create machine: image '%s' must be pulled from a registry, but this machine has no network", img)
	}
	return 0
}

func isLocal(img string) bool {
	return img == "-" || strings.HasPrefix(img, "/") || strings.HasPrefix(img, "./") || strings.HasPrefix(img, "../") ||
		strings.HasSuffix(img, ".tar") || strings.HasSuffix(img, ".tar.gz") || strings.HasSuffix(img, ".tgz")
}

func smolEnv(p *Proc, f flags, m *Machine) int {
	for _, e := range f.all("-e", "--env") {
		k, _, hasVal := strings.Cut(e, "=")
		if !hasVal {
			if v, ok := p.Env(k); ok {
				e = k + "=" + v // smolvm copies the host value (and persists it)
			} else {
				continue
			}
		}
		m.Env = append(m.Env, e)
	}
	for _, s := range f.all("--secret-env") {
		g, h, ok := strings.Cut(s, "=")
		if !ok || g == "" || h == "" {
			return usage(p, "smolvm", "error: invalid value '%s' for '--secret-env <GUEST=HOST_VAR>'", s)
		}
		m.Secrets = append(m.Secrets, s)
	}
	return 0
}

func (st *State) machine(p *Proc, f flags, short bool) (string, *Machine, int) {
	name := f.one("--name")
	if short {
		name = f.one("-n", "--name")
	}
	if name == "" {
		name = "default"
	}
	m, ok := st.Machines[name]
	if !ok {
		return name, nil, smolErr(p, "vm not found: %s", name)
	}
	return name, m, 0
}

func (st *State) smolStart(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"-n", "--name", "--proxy", "--no-proxy"}, []string{"--forkable"}, false)
	if err != nil || len(rest) > 0 {
		return usage(p, "smolvm", "error: %v %q", err, rest)
	}
	name, m, code := st.machine(p, f, true)
	if code != 0 {
		return code
	}
	if m.State == "running" {
		fmt.Fprintf(p.Stdout, "Machine '%s' already running\n", name)
		return 0
	}
	if m.Image != "" && !isLocal(m.Image) && len(m.AllowHosts) == 0 && m.Backend == "virtio-net" {
		m.State = "stopped"
		return smolErr(p, "agent operation failed: pull image: %s: egress to the registry denied by the machine's policy", m.Image)
	}
	if guestMode(p) {
		if code := bootGuest(p, name, m); code != 0 {
			m.State = "stopped"
			return code
		}
	}
	m.State = "running"
	fmt.Fprintf(p.Stdout, "Machine '%s' running (PID: 4242)\n", name)
	return 0
}

func (st *State) smolExec(p *Proc, args []string) int {
	f, argv, err := parse(args, []string{"--name", "-w", "--workdir", "-e", "--env", "--secret-env", "--secret-file", "--timeout"},
		[]string{"-i", "-t", "--stream", "-d"}, true)
	if err != nil {
		return usage(p, "smolvm", "error: %v (exec takes --name, never -n)", err)
	}
	if len(argv) == 0 {
		return usage(p, "smolvm", "error: the following required arguments were not provided: <COMMAND>...")
	}
	if f.has("-d") && (f.has("-i") || f.has("-t") || f.has("--stream")) {
		return usage(p, "smolvm", "error: the argument '--detach' cannot be used with '--interactive'")
	}
	name, m, code := st.machine(p, f, false)
	if code != 0 {
		return code
	}
	if m.State != "running" {
		return smolErr(p, "agent operation failed: connect: machine '%s' is not running. Use 'smolvm machine start --name %s' first.", name, name)
	}
	if guestMode(p) {
		// Run after the state is saved and the lock released: an attached
		// agent may run for hours while other calls go on.
		st.after = func() int { return execGuest(p, name, f, argv) }
		return 0
	}
	if f.has("-d") {
		fmt.Fprintln(p.Stdout, 4300+st.Clock) // the guest PID of the detached process
		return 0
	}
	if code, ok := session(p, &m.Session, runuserArgv(argv)); ok {
		return code
	}
	if f.has("-i") && argv[0] == "tar" {
		if _, err := logTar(p.Dir, p.Stdin); err != nil {
			fmt.Fprintf(p.Stderr, "tar: %v\n", err)
			return 2
		}
	}
	return 0
}

func (st *State) smolDelete(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"-n", "--name"}, []string{"-f", "--force", "--cascade"}, false)
	if err != nil || len(rest) > 0 {
		return usage(p, "smolvm", "error: %v %q", err, rest)
	}
	if f.one("-n", "--name") == "" {
		return usage(p, "smolvm", "error: the following required arguments were not provided: --name <NAME>")
	}
	name, _, code := st.machine(p, f, true)
	if code != 0 {
		return code
	}
	if !f.has("-f") && !f.has("--force") {
		fmt.Fprintln(p.Stdout, "Cancelled") // it asks on stdin; EOF is "no"
		return 0
	}
	if guestMode(p) {
		exec.Command("docker", "rm", "--force", guestContainer(name)).Run()
	}
	delete(st.Machines, name)
	fmt.Fprintf(p.Stdout, "Deleted machine: %s\n", name)
	return 0
}

func (st *State) smolStop(p *Proc, args []string) int {
	f, _, err := parse(args, []string{"-n", "--name"}, nil, false)
	if err != nil {
		return usage(p, "smolvm", "error: %v", err)
	}
	name, m, code := st.machine(p, f, true)
	if code != 0 {
		return code
	}
	if m.State != "running" {
		fmt.Fprintf(p.Stdout, "Machine '%s' is not running (state: %s)\n", name, m.State)
		return 0
	}
	m.State = "stopped"
	fmt.Fprintf(p.Stdout, "Stopped machine: %s\n", name)
	return 0
}

func (st *State) smolLs(p *Proc, args []string) int {
	f, _, err := parse(args, nil, []string{"-v", "--json"}, false)
	if err != nil {
		return usage(p, "smolvm", "error: %v", err)
	}
	var names []string
	for n := range st.Machines {
		names = append(names, n)
	}
	sort.Strings(names)
	if !f.has("--json") {
		for _, n := range names {
			fmt.Fprintf(p.Stdout, "%s\t%s\n", n, st.Machines[n].State)
		}
		return 0
	}
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, st.status(n))
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(p.Stdout, string(b))
	return 0
}

func (st *State) smolStatus(p *Proc, args []string) int {
	f, _, err := parse(args, []string{"-n", "--name"}, []string{"--json"}, false)
	if err != nil {
		return usage(p, "smolvm", "error: %v", err)
	}
	name := f.one("-n", "--name")
	if _, ok := st.Machines[name]; !ok {
		return smolErr(p, "config operation failed: machine status: machine '%s' not found", name)
	}
	b, _ := json.Marshal(st.status(name))
	fmt.Fprintln(p.Stdout, string(b))
	return 0
}

// status is the machine_status_json object (the fields claude-bottle reads and a few more).
func (st *State) status(name string) map[string]any {
	m := st.Machines[name]
	return map[string]any{"name": name, "state": m.State, "cpus": 4, "memory_mib": 8192, "created_at": m.CreatedAt,
		"image": m.Image, "labels": m.Labels, "network": m.Backend != "none", "ephemeral": false}
}

// resolveOnHost stands in for smolvm's resolution of an --allow-host at
// create (a hard error when it fails). It reads the host's hosts file only
// and never sends a query: tests talk to no resolver.
func resolveOnHost(host string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("the stand-in sends no DNS query")
	}}
	return r.LookupHost(context.Background(), host)
}

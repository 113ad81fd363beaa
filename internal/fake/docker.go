package fake

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Network is a docker network the stand-in created (State.Networks is by
// ID: names may repeat, as the daemon let concurrent creates do up to
// Engine 25).
type Network struct {
	Name     string            `json:"name"`
	Internal bool              `json:"internal"`
	Opts     []string          `json:"opts,omitempty"`
	Labels   map[string]string `json:"labels"`
}

// Container is a docker container the stand-in created (State.Containers
// is by name: those are unique).
type Container struct {
	ID       string            `json:"id"`
	Image    string            `json:"image"`
	Labels   map[string]string `json:"labels"`
	Networks []string          `json:"networks"` // IDs, or "bridge"
	Aliases  []string          `json:"aliases,omitempty"`
	Ports    map[string]string `json:"ports,omitempty"` // "8888/tcp" -> "127.0.0.1:32768"
	Running  bool              `json:"running"`
	Created  int64             `json:"created"`
	Env      []string          `json:"env,omitempty"`
	Files    map[string]string `json:"files,omitempty"`   // copied in with docker cp
	Session  *Session          `json:"session,omitempty"` // the agent's session
}

// TestCA is a CA certificate for tests that install one in a guest
// (testimages/trust_docker_test.go).
const TestCA = `-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUBDte8FItPweMh8AzVyRSTeUO9m4wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVY2xhdWRlLWJvdHRsZSB0ZXN0IENBMB4XDTI2MTEyNzA0Mzgy
MVoXDTM2MTEyNDA0MzgyMVowIDEeMBwGA1UEAwwVY2xhdWRlLWJvdHRsZSB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBV1s3LLENLqEdK3WlpXlrSxh
Rh9yRXckkskK+ZKPPZPO/AkJ0zxwUPBEmbvD5ivSZ13Vf06mHkvrONla0H66OqNT
MFEwHQYDVR0OBBYEFP1QlxDshGiZpX+vjBy5XgN5VH32MB8GA1UdIwQYMBaAFP1Q
lxDshGiZpX+vjBy5XgN5VH32MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAJXHRJRKtzA6oCQLXi6wamWBlNlC5W8CSxlb7S32vzDAAiEAjGGOWr67
vND7Zn3s0wXgZAj0CjjJx11yXwl6q6RgpQw=
-----END CERTIFICATE-----`

// TestCAFingerprint is `openssl x509 -in ca.pem -noout -fingerprint -sha256` of TestCA.
const TestCAFingerprint = "71:C5:EF:A5:05:AF:7F:26:13:1A:92:85:10:DA:75:FC:3F:98:B4:9E:2B:A5:5A:5C:BB:FE:81:69:43:18:CF:FC"

func (st *State) docker(p *Proc) int {
	if len(p.Args) == 0 {
		return usage(p, "docker", "no command")
	}
	cmd, args := p.Args[0], p.Args[1:]
	switch cmd {
	case "network":
		return st.dockerNetwork(p, args)
	case "create":
		return st.dockerCreate(p, args, false)
	case "run":
		return st.dockerCreate(p, args, true)
	case "cp":
		return st.dockerCp(p, args)
	case "start":
		return st.dockerStart(p, args)
	case "exec":
		return st.dockerExec(p, args)
	case "port":
		return st.dockerPort(p, args)
	case "rm":
		return st.dockerRm(p, args)
	case "image":
		return st.dockerImage(p, args)
	case "save":
		return st.dockerSave(p, args)
	case "ps":
		return st.dockerPs(p, args)
	case "logs":
		return st.dockerLogs(p, args)
	case "inspect":
		return st.dockerInspect(p, args)
	case "version", "info":
		fmt.Fprintln(p.Stdout, "fake docker 28.2.2")
		return 0
	}
	return usage(p, "docker", "unexpected command %q", cmd)
}

func noSuchContainer(p *Proc, name string) int {
	fmt.Fprintf(p.Stderr, "Error: No such container: %s\n", name)
	return 1
}

func (st *State) dockerNetwork(p *Proc, args []string) int {
	if len(args) == 0 {
		return usage(p, "docker", "network: no command")
	}
	switch args[0] {
	case "create":
		f, rest, err := parse(args[1:], []string{"--opt", "-o", "--label", "--driver", "-d"}, []string{"--internal"}, false)
		if err != nil || len(rest) != 1 {
			return usage(p, "docker", "network create: %v %q", err, rest)
		}
		// No check that the name is free: Engine 20.10 checked with a
		// read before the write, so concurrent creates all succeeded.
		id := st.newID(rest[0])
		st.Networks[id] = &Network{Name: rest[0], Internal: f.has("--internal"), Opts: f.all("--opt", "-o"), Labels: labels(f.all("--label"))}
		fmt.Fprintln(p.Stdout, id)
		return 0
	case "rm":
		for _, ref := range args[1:] {
			id, code := st.network(p, "Error: ", ref)
			if code != 0 {
				return code
			}
			for cn, c := range st.Containers {
				if contains(c.Networks, id) {
					fmt.Fprintf(p.Stderr, "Error response from daemon: error while removing network: network %s id %s has active endpoints (%s)\n", st.Networks[id].Name, id, cn)
					return 1
				}
			}
			delete(st.Networks, id)
			fmt.Fprintln(p.Stdout, ref)
		}
		return 0
	case "ls":
		return st.dockerNetworkLs(p, args[1:])
	case "connect":
		f, rest, err := parse(args[1:], []string{"--alias"}, nil, false)
		if err != nil || len(rest) != 2 {
			return usage(p, "docker", "network connect: %v %q", err, rest)
		}
		_, c, ok := st.container(rest[1])
		if !ok {
			return noSuchContainer(p, rest[1])
		}
		id := "bridge"
		if rest[0] != "bridge" {
			var code int
			if id, code = st.network(p, "Error: ", rest[0]); code != 0 {
				return code
			}
		}
		c.Networks = append(c.Networks, id)
		c.Aliases = append(c.Aliases, f.all("--alias")...)
		return 0
	}
	return usage(p, "docker", "network: unexpected command %q", args[0])
}

var createValued = []string{"--name", "--label", "--network", "--network-alias", "-p", "--publish", "-e", "--env",
	"-u", "--user", "-w", "--workdir", "--hostname", "--security-opt", "--cap-drop", "--cap-add", "--entrypoint",
	"--sysctl", "--memory", "--memory-swap", "--pids-limit", "--cpus", "--add-host"}

// checkLimits refuses what dockerd refuses of claude-bottle's limits: more
// CPUs than the host has, a sysctl it does not namespace.
func checkLimits(p *Proc, f flags) int {
	if c := f.one("--cpus"); c != "" {
		n, err := strconv.ParseFloat(c, 64)
		if err != nil || n <= 0 || n > float64(runtime.NumCPU()) {
			fmt.Fprintf(p.Stderr, "docker: Error response from daemon: range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available.\n", runtime.NumCPU(), runtime.NumCPU())
			return 125
		}
	}
	for _, sc := range f.all("--sysctl") {
		if !strings.HasPrefix(sc, "net.") {
			fmt.Fprintf(p.Stderr, "docker: Error response from daemon: sysctl %q is not allowed\n", sc)
			return 125
		}
	}
	return 0
}

func (st *State) dockerCreate(p *Proc, args []string, run bool) int {
	f, rest, err := parse(args, createValued, []string{"--detach", "-d", "--init", "--rm", "-i", "-t"}, true)
	if err != nil || len(rest) == 0 {
		return usage(p, "docker", "create: %v (image missing?)", err)
	}
	if f.has("--privileged") {
		return usage(p, "docker", "--privileged is never expected")
	}
	if code := checkLimits(p, f); code != 0 {
		return code
	}
	name := f.one("--name")
	if name == "" {
		return usage(p, "docker", "create: the fake wants --name")
	}
	if old, ok := st.Containers[name]; ok {
		fmt.Fprintf(p.Stderr, "docker: Error response from daemon: Conflict. The container name \"/%s\" is already in use by container %q.\n", name, old.ID)
		return 125
	}
	c := &Container{ID: st.newID(name), Image: rest[0], Labels: labels(f.all("--label")), Ports: map[string]string{},
		Created: st.Clock, Aliases: f.all("--network-alias"), Running: run}
	if n := f.one("--network"); n != "" {
		id, code := st.network(p, "docker: Error response from daemon: ", n)
		if code != 0 {
			return 125
		}
		c.Networks = []string{id}
	}
	for _, e := range f.all("-e", "--env") {
		if k, _, hasVal := strings.Cut(e, "="); !hasVal {
			if _, set := p.Env(k); !set {
				continue // docker drops a by-name variable that is unset
			}
		}
		c.Env = append(c.Env, e)
	}
	for _, pub := range f.all("-p", "--publish") {
		parts := strings.Split(pub, ":")
		if len(parts) != 3 || parts[1] != "" {
			return usage(p, "docker", "fake publishes only IP::PORT, got %q", pub)
		}
		c.Ports[parts[2]+"/tcp"] = parts[0] + ":" + strconv.Itoa(st.NextPort)
		st.NextPort++
	}
	st.Containers[name] = c
	fmt.Fprintln(p.Stdout, c.ID)
	return 0
}

// newID is a fresh 64-hex ID (unique: the clock moves on every call).
func (st *State) newID(name string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("%s %d %d", name, st.Clock, len(st.Networks)+len(st.Containers)))))
}

// container finds a container by name, ID or unique ID prefix, as docker does.
func (st *State) container(ref string) (string, *Container, bool) {
	if c, ok := st.Containers[ref]; ok {
		return ref, c, true
	}
	var found []string
	for n, c := range st.Containers {
		if ref != "" && strings.HasPrefix(c.ID, ref) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", nil, false
	}
	return found[0], st.Containers[found[0]], true
}

// network finds a network by full ID, then name, then ID prefix, as the
// daemon does; a name two networks share is ambiguous.
func (st *State) network(p *Proc, prefix, ref string) (string, int) {
	if _, ok := st.Networks[ref]; ok {
		return ref, 0
	}
	var byName, byPrefix []string
	for id, n := range st.Networks {
		if n.Name == ref {
			byName = append(byName, id)
		}
		if ref != "" && strings.HasPrefix(id, ref) {
			byPrefix = append(byPrefix, id)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], 0
	case len(byName) > 1:
		fmt.Fprintf(p.Stderr, "%snetwork %s is ambiguous (%d matches found based on name)\n", prefix, ref, len(byName))
		return "", 1
	case len(byPrefix) == 1:
		return byPrefix[0], 0
	}
	fmt.Fprintf(p.Stderr, "%sNo such network: %s\n", prefix, ref)
	return "", 1
}

func (st *State) dockerCp(p *Proc, args []string) int {
	if len(args) != 2 || args[0] != "-" {
		return usage(p, "docker", "fake cp takes only '- CONTAINER:DIR'")
	}
	name, dir, ok := strings.Cut(args[1], ":")
	_, c, exists := st.container(name)
	if !ok || !exists {
		return noSuchContainer(p, name)
	}
	if dir != "/" {
		return usage(p, "docker", "fake cp extracts at / only")
	}
	files, err := logTar(p.Dir, p.Stdin)
	if err != nil {
		fmt.Fprintf(p.Stderr, "Error: %v\n", err)
		return 1
	}
	if c.Files == nil {
		c.Files = map[string]string{}
	}
	for k, v := range files {
		c.Files["/"+k] = string(v)
	}
	return 0
}

func (st *State) dockerStart(p *Proc, args []string) int {
	for _, n := range args {
		_, c, ok := st.container(n)
		if !ok {
			return noSuchContainer(p, n)
		}
		c.Running = true
		fmt.Fprintln(p.Stdout, n)
	}
	return 0
}

func (st *State) dockerExec(p *Proc, args []string) int {
	f, rest, err := parse(args, []string{"-u", "--user", "-w", "--workdir", "-e", "--env"}, []string{"-i", "-t", "-d"}, true)
	if err != nil || len(rest) < 2 {
		return usage(p, "docker", "exec: %v %q", err, rest)
	}
	_, c, ok := st.container(rest[0])
	if !ok {
		return noSuchContainer(p, rest[0])
	}
	if !c.Running {
		fmt.Fprintf(p.Stderr, "Error response from daemon: container %s is not running\n", rest[0])
		return 1
	}
	_ = f
	argv := rest[1:]
	if code, ok := session(p, &c.Session, argv); ok {
		return code
	}
	if f.has("-i") && p.Stdin != nil {
		io.Copy(io.Discard, p.Stdin)
	}
	return 0
}

func (st *State) dockerPort(p *Proc, args []string) int {
	if len(args) != 2 {
		return usage(p, "docker", "fake port takes CONTAINER PORT/tcp")
	}
	_, c, ok := st.container(args[0])
	if !ok {
		return noSuchContainer(p, args[0])
	}
	b, ok := c.Ports[args[1]]
	if !ok || !c.Running {
		fmt.Fprintf(p.Stderr, "Error: No public port '%s' published for %s\n", args[1], args[0])
		return 1
	}
	fmt.Fprintln(p.Stdout, b)
	return 0
}

func (st *State) dockerRm(p *Proc, args []string) int {
	f, rest, err := parse(args, nil, []string{"-f", "--force"}, false)
	if err != nil {
		return usage(p, "docker", "rm: %v", err)
	}
	for _, ref := range rest {
		n, c, ok := st.container(ref)
		if !ok {
			return noSuchContainer(p, ref)
		}
		if c.Running && !f.has("-f") && !f.has("--force") {
			fmt.Fprintf(p.Stderr, "Error response from daemon: You cannot remove a running container %s.\n", c.ID)
			return 1
		}
		delete(st.Containers, n)
		fmt.Fprintln(p.Stdout, ref)
	}
	return 0
}

func (st *State) dockerImage(p *Proc, args []string) int {
	if len(args) == 4 && args[0] == "inspect" && args[1] == "--format" && args[2] == "{{.Id}}" {
		fmt.Fprintf(p.Stdout, "sha256:%x\n", sha256.Sum256([]byte(args[3])))
		return 0
	}
	return usage(p, "docker", "fake image: unexpected %q", args)
}

func (st *State) dockerSave(p *Proc, args []string) int {
	if len(args) != 3 || args[0] != "--output" {
		return usage(p, "docker", "fake save takes --output PATH IMAGE")
	}
	if err := os.WriteFile(args[1], []byte("image archive of "+args[2]+"\n"), 0o644); err != nil {
		fmt.Fprintf(p.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func (st *State) dockerLogs(p *Proc, args []string) int {
	_, rest, err := parse(args, []string{"--tail"}, []string{"-f", "--follow"}, false)
	if err != nil || len(rest) != 1 {
		return usage(p, "docker", "logs: %v", err)
	}
	if _, _, ok := st.container(rest[0]); !ok {
		return noSuchContainer(p, rest[0])
	}
	fmt.Fprintln(p.Stdout, "[pipelock] listening on 0.0.0.0:8888")
	return 0
}

func labels(kv []string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// dockerInspect answers the one inspect claude-bottle runs on a container:
// `docker inspect --type container --format '{{json .Config.Labels}}' NAME`
// (fetch reads the labels the launch recorded).
func (st *State) dockerInspect(p *Proc, args []string) int {
	if len(args) != 5 || args[0] != "--type" || args[1] != "container" || args[2] != "--format" || args[3] != "{{json .Config.Labels}}" {
		return usage(p, "docker", "inspect: unexpected %q", strings.Join(args, " "))
	}
	_, c, ok := st.container(args[4])
	if !ok {
		fmt.Fprintf(p.Stderr, "Error: No such container: %s\n", args[4])
		return 1
	}
	b, _ := json.Marshal(c.Labels)
	fmt.Fprintln(p.Stdout, string(b))
	return 0
}

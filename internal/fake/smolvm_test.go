package fake

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// smol runs the stand-in in dir and returns exit code, stdout, stderr.
func smol(dir string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run("smolvm", &Proc{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Dir: dir,
		Env: func(k string) (string, bool) {
			if k == "HOST_SECRET" {
				return "v", true
			}
			return "", false
		}})
	return code, out.String(), errb.String()
}

// TestSmolvmContract: the stand-in rejects what smolvm 1.9.2 rejects
// (shared/reference/smolvm-cli.md) and accepts what claude-bottle sends.
func TestSmolvmContract(t *testing.T) {
	dir := t.TempDir()
	create := func(name string, extra ...string) []string {
		return append([]string{"machine", "create", "--name", name, "--image", dir + "/img.tar"}, extra...)
	}
	cases := []struct {
		what string
		args []string
		code int
		msg  string
	}{
		{"positional name", []string{"machine", "create", "m1"}, 2, "unexpected argument 'm1'"},
		{"bad name", create("-bad"), 1, "invalid machine name"},
		{"trailing dash", create("bad-"), 1, "invalid machine name"},
		{"double dash", create("a--b"), 1, "invalid machine name"},
		{"comma CIDRs", create("m1", "--allow-cidr", "127.0.0.1/32,100.96.0.1/32"), 1, "invalid CIDR '127.0.0.1/32,100.96.0.1/32'"},
		{"tsi with policy", create("m1", "--net-backend", "tsi", "--allow-cidr", "127.0.0.1/32"), 1, "requires the virtio-net backend"},
		{"virtio without net", create("m1", "--net-backend", "virtio-net"), 1, "requires --net"},
		{"host with port", create("m1", "--allow-host", "example.com:443"), 1, "port suffixes are not supported"},
		{"unresolvable host", create("m1", "--allow-host", "no-such-host.invalid"), 1, "failed to resolve 'no-such-host.invalid'"},
		{"missing archive", []string{"machine", "create", "--name", "m1", "--image", dir + "/nope.tar"}, 1, "image archive"},
		{"registry image, no network", []string{"machine", "create", "--name", "m1", "--image", "alpine:3"}, 1, "must be pulled from a registry"},
		{"secret without =", create("m1", "--net", "--secret-env", "X"), 2, "--secret-env"},
		{"unknown flag", create("m1", "--frobnicate"), 2, "unknown flag"},
		{"start unknown", []string{"machine", "start", "-n", "ghost"}, 1, "vm not found: ghost"},
		{"exec with -n", []string{"machine", "exec", "-n", "m1", "--", "true"}, 2, "never -n"},
		{"exec with --user", []string{"machine", "exec", "--name", "m1", "--user", "node", "--", "true"}, 2, "unknown flag: --user"},
		{"exec without command", []string{"machine", "exec", "--name", "m1"}, 2, "<COMMAND>"},
		{"exec -d with -i", []string{"machine", "exec", "--name", "m1", "-d", "-i", "--", "true"}, 2, "cannot be used"},
		{"exec -d with -t", []string{"machine", "exec", "--name", "m1", "-d", "-t", "--", "true"}, 2, "cannot be used"},
		{"exec -d with --stream", []string{"machine", "exec", "--name", "m1", "-d", "--stream", "--", "true"}, 2, "cannot be used"},
		{"delete without name", []string{"machine", "delete", "-f"}, 2, "--name <NAME>"},
		{"not a machine command", []string{"vm", "list"}, 2, "unrecognized subcommand"},
	}
	writeFile(t, dir+"/img.tar")
	for _, c := range cases {
		code, _, errs := smol(dir, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%s: smolvm %s: exit %d %q; want exit %d with %q", c.what, strings.Join(c.args, " "), code, errs, c.code, c.msg)
		}
	}
}

// TestSmolvmLifecycle: create, start, exec, delete as claude-bottle runs
// them, with smolvm's traps: exec needs a running machine, delete without
// -f deletes nothing, a registry image under a CIDR-only policy fails at start.
func TestSmolvmLifecycle(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/img.tar")
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"machine", "create", "--name", "m1", "--label", "claude-bottle.name=b", "--image", dir + "/img.tar",
			"--net", "--allow-cidr", "127.0.0.1/32", "-e", "A=1", "--secret-env", "S=HOST_SECRET", "--", "sleep", "infinity"}, 0, "Created machine: m1"},
		{[]string{"machine", "create", "--name", "m1", "--image", dir + "/img.tar"}, 1, ""},
		{[]string{"machine", "exec", "--name", "m1", "--", "true"}, 1, ""},
		{[]string{"machine", "start", "-n", "m1"}, 0, "running"},
		{[]string{"machine", "start", "-n", "m1"}, 0, "already running"},
		{[]string{"machine", "exec", "--name", "m1", "-w", "/w", "--", "runuser", "-u", "node", "--", "claude"}, 0, ""},
		{[]string{"machine", "delete", "-n", "m1"}, 0, "Cancelled"},
		{[]string{"machine", "ls", "--json"}, 0, `"labels":{"claude-bottle.name":"b"}`},
		{[]string{"machine", "delete", "-n", "m1", "-f"}, 0, "Deleted machine: m1"},
		{[]string{"machine", "ls", "--json"}, 0, "[]"},
		{[]string{"machine", "create", "--name", "m2", "--image", "registry.example/agent:1", "--allow-cidr", "100.96.0.1/32"}, 0, ""},
		{[]string{"machine", "start", "-n", "m2"}, 1, ""},
	}
	for _, s := range steps {
		code, out, errs := smol(dir, s.args...)
		if code != s.code || !strings.Contains(out, s.out) {
			t.Fatalf("smolvm %s: exit %d, stdout %q, stderr %q; want exit %d with %q", strings.Join(s.args, " "), code, out, errs, s.code, s.out)
		}
	}
	st, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Machines["m2"]; m == nil || m.Backend != "virtio-net" || m.State != "stopped" {
		t.Errorf("m2 = %+v, want a stopped virtio-net machine", m)
	}
}

// TestSmolvmSession: exec -d prints the detached process's guest PID; the
// agent session's commands (job/session.go) find the session the start
// recorded, through runuser as claude-bottle sends them.
func TestSmolvmSession(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/img.tar")
	exec := func(argv ...string) []string {
		return append([]string{"machine", "exec", "--name", "m1", "--stream", "--", "runuser", "-u", "node", "--"}, argv...)
	}
	state := exec("sh", "-c", "…", stateScriptName, "state")
	steps := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"machine", "create", "--name", "m1", "--image", dir + "/img.tar", "--net"}, 0, ""},
		{[]string{"machine", "start", "-n", "m1"}, 0, ""},
		{[]string{"machine", "exec", "--name", "m1", "-d", "--", "sleep", "60"}, 0, "43"},
		{state, 0, "none\n"},
		{exec("sh", "-c", "…", logsScriptName), 3, ""},
		{exec("tmux", "-L", "claude-bottle", "new-session", "-d", "-s", "agent", "exec claude -p x"), 0, ""},
		{exec("tmux", "-L", "claude-bottle", "new-session", "-d", "-s", "agent", "exec claude"), 1, ""},
		{state, 0, "pane 0::\n"},
		{exec("sh", "-c", "…", logsScriptName), 0, "fake agent ran: exec claude -p x\n"},
		{exec("sh", "-c", "…", stateScriptName, "wait"), 0, "pane 1:0:\n"},
		{state, 0, "pane 1:0:\n"},
	}
	for _, s := range steps {
		code, out, errs := smol(dir, s.args...)
		if code != s.code || !strings.HasPrefix(out, s.out) {
			t.Fatalf("smolvm %s: exit %d, stdout %q, stderr %q; want exit %d with %q", strings.Join(s.args, " "), code, out, errs, s.code, s.out)
		}
	}
}

func TestSmolvmNetSelection(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/img.tar")
	for name, want := range map[string]struct {
		flags   []string
		backend string
	}{
		"a": {[]string{"--net"}, "tsi"},
		"b": {[]string{"--net", "--allow-cidr", "127.0.0.1/32"}, "virtio-net"},
		"c": {[]string{"--allow-cidr", "100.96.0.1/32", "--allow-cidr", "127.0.0.1/32"}, "virtio-net"},
		"d": {nil, "none"},
	} {
		if code, _, errs := smol(dir, append([]string{"machine", "create", "--name", name, "--image", dir + "/img.tar"}, want.flags...)...); code != 0 {
			t.Fatalf("%v: %s", want.flags, errs)
		}
		st, _ := load(dir)
		if got := st.Machines[name].Backend; got != want.backend {
			t.Errorf("%v selects %s, want %s", want.flags, got, want.backend)
		}
	}
}

// TestSmolvmDNSFilter: any --allow-host turns the DNS filter on (smolvm
// 1.9.2: only allowed names resolve); CIDRs alone leave it off, the side
// channel claude-bottle closes with --allow-host localhost.
func TestSmolvmDNSFilter(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/img.tar")
	for name, flags := range map[string][]string{
		"cidrs": {"--allow-cidr", "100.96.0.1/32"},
		"hosts": {"--allow-cidr", "100.96.0.1/32", "--allow-host", "localhost"},
	} {
		if code, _, errs := smol(dir, append([]string{"machine", "create", "--name", name, "--image", dir + "/img.tar"}, flags...)...); code != 0 {
			t.Fatalf("%v: %s", flags, errs)
		}
	}
	st, _ := load(dir)
	if st.Machines["cidrs"].DNSFilter {
		t.Error("CIDRs alone turned the DNS filter on")
	}
	if m := st.Machines["hosts"]; !m.DNSFilter || len(m.Resolved["localhost"]) == 0 {
		t.Errorf("--allow-host localhost: filter %v, resolved %v", m.DNSFilter, m.Resolved)
	}
	mounts, err := dnsFilterFiles(dir, "hosts", st.Machines["hosts"])
	if err != nil || len(mounts) != 4 {
		t.Fatalf("mounts %v, %v", mounts, err)
	}
	resolv, _ := os.ReadFile(dir + "/dns-hosts/resolv.conf")
	if !strings.Contains(string(resolv), "nameserver 127.0.0.254") {
		t.Errorf("resolv.conf:\n%s", resolv)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("image archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

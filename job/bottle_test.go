package job

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/shell"
)

const oid1 = "1111111111111111111111111111111111111111"

func TestLocate(t *testing.T) {
	inspect := "docker inspect --type container --format '{{json .Config.Labels}}' claude-bottle-demo-agent"
	noContainer := shell.Reply{Stderr: "Error: No such container: claude-bottle-demo-agent", ExitCode: 1}
	for _, c := range []struct {
		name       string
		backend    string
		withSmolvm bool
		answers    map[string]shell.Reply
		want       Bottle
		wantErr    string
		wantCalls  []string
	}{
		{name: "docker labels", backend: Docker,
			answers: map[string]shell.Reply{inspect: {Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"agent","claude-bottle.repo":"/src/a,b=c","claude-bottle.base":"` + oid1 + `"}`}},
			want:    Bottle{Name: "demo", Backend: Docker, Agent: "claude-bottle-demo-agent", Repo: "/src/a,b=c", Base: oid1}, wantCalls: []string{inspect}},
		{name: "docker, nothing recorded", backend: Docker,
			answers: map[string]shell.Reply{inspect: {Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"agent"}`}},
			want:    Bottle{Name: "demo", Backend: Docker, Agent: "claude-bottle-demo-agent"}},
		{name: "dry-run answer", backend: Docker, answers: map[string]shell.Reply{},
			want: Bottle{Name: "demo", Backend: Docker, Agent: "claude-bottle-demo-agent"}},
		{name: "not ours", backend: Docker, answers: map[string]shell.Reply{inspect: {Stdout: `{"maintainer":"x"}`}},
			wantErr: "is not its agent"},
		{name: "relative repo", backend: Docker,
			answers: map[string]shell.Reply{inspect: {Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"agent","claude-bottle.repo":"src"}`}},
			wantErr: "not an absolute path"},
		{name: "bad base", backend: Docker,
			answers: map[string]shell.Reply{inspect: {Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"agent","claude-bottle.base":"HEAD"}`}},
			wantErr: "not an object id"},
		{name: "unknown", backend: Docker, answers: map[string]shell.Reply{inspect: noContainer},
			wantErr: "no bottle named demo (see claude-bottle ls)", wantCalls: []string{inspect}},
		{name: "docker down", backend: Docker, answers: map[string]shell.Reply{inspect: {Stderr: "Cannot connect", ExitCode: 1}},
			wantErr: "Cannot connect"},
		{name: "smolvm machine", backend: Docker, withSmolvm: true,
			answers:   map[string]shell.Reply{inspect: noContainer, "smolvm machine ls --json": {Stdout: `[{"name":"claude-bottle-demo-agent","labels":{"claude-bottle.name":"demo","claude-bottle.repo":"/r"}}]`}},
			want:      Bottle{Name: "demo", Backend: Smolmachines, Agent: "claude-bottle-demo-agent", Repo: "/r"},
			wantCalls: []string{inspect, "smolvm machine ls --json"}},
		{name: "smolmachines first", backend: Smolmachines,
			answers: map[string]shell.Reply{"smolvm machine ls --json": {Stdout: `[{"name":"claude-bottle-demo-agent","labels":{"claude-bottle.name":"demo"}}]`}},
			want:    Bottle{Name: "demo", Backend: Smolmachines, Agent: "claude-bottle-demo-agent"}, wantCalls: []string{"smolvm machine ls --json"}},
		{name: "smolmachines dry-run", backend: Smolmachines, answers: map[string]shell.Reply{},
			want: Bottle{Name: "demo", Backend: Smolmachines, Agent: "claude-bottle-demo-agent"}},
		{name: "smolvm, another machine", backend: Smolmachines,
			answers: map[string]shell.Reply{"smolvm machine ls --json": {Stdout: `[{"name":"claude-bottle-demo-agent","labels":{"claude-bottle.name":"other"}}]`}, inspect: noContainer},
			wantErr: "no bottle named demo (see claude-bottle ls)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &shell.Recorder{Answer: func(_ int, cmd shell.Cmd) shell.Reply { return c.answers[cmd.String()] }}
			got, err := Locate(context.Background(), rec, "demo", Where{Backend: c.backend, Smolvm: c.withSmolvm})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
			} else if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			if c.wantCalls != nil {
				var calls []string
				for _, call := range rec.Calls() {
					calls = append(calls, shell.Join(call.Argv))
				}
				if strings.Join(calls, "\n") != strings.Join(c.wantCalls, "\n") {
					t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(c.wantCalls, "\n"))
				}
			}
		})
	}
	if _, err := Locate(context.Background(), &shell.Recorder{}, "a b", Where{Backend: Docker}); err == nil {
		t.Error("a bad name was looked up")
	}
	_, err := Locate(context.Background(), &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply { return noContainer }}, "demo", Where{Backend: Docker})
	if !errors.Is(err, ErrUnknownBottle) {
		t.Errorf("err = %v, want ErrUnknownBottle", err)
	}
}

// TestLocateBundle: logs and the operator's supervise commands find the
// bottle's bundle first: a container by its name whose labels are not that
// bottle's bundle is refused, a missing one is the one unknown-bottle
// message, a dry-run's empty answer is taken as the bundle.
func TestLocateBundle(t *testing.T) {
	inspect := "docker inspect --type container --format '{{json .Config.Labels}}' claude-bottle-demo-bundle"
	for _, c := range []struct {
		name    string
		reply   shell.Reply
		wantErr string
	}{
		{"its bundle", shell.Reply{Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"bundle"}`}, ""},
		{"dry-run", shell.Reply{}, ""},
		{"gone", shell.Reply{Stderr: "Error response from daemon: No such container: claude-bottle-demo-bundle", ExitCode: 1},
			"no bottle named demo (see claude-bottle ls)"},
		{"another's container", shell.Reply{Stdout: `{"claude-bottle.name":"other","claude-bottle.role":"bundle"}`}, "is not its bundle"},
		{"its agent's role", shell.Reply{Stdout: `{"claude-bottle.name":"demo","claude-bottle.role":"agent"}`}, "is not its bundle"},
		{"docker down", shell.Reply{Stderr: "Cannot connect", ExitCode: 1}, "Cannot connect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &shell.Recorder{Answer: func(_ int, cmd shell.Cmd) shell.Reply {
				if cmd.String() != inspect {
					t.Errorf("ran %s", cmd)
				}
				return c.reply
			}}
			_, err := LocateBundle(context.Background(), rec, "demo", Where{Backend: Docker})
			if (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want %q", err, c.wantErr)
			}
			if c.name == "gone" && (!errors.Is(err, ErrUnknownBottle) || err.Error() != c.wantErr) {
				t.Errorf("err = %v, want exactly %q", err, c.wantErr)
			}
		})
	}
}

// TestGuestCommand: one command per backend, run as the agent user, with
// smolvm's output streamed (buffered, it is cut at 11 MiB).
func TestGuestCommand(t *testing.T) {
	have := []string{oid1}
	for backend, want := range map[string]string{
		Docker:       "docker exec -u node claude-bottle-demo-agent sh -c",
		Smolmachines: "smolvm machine exec --name claude-bottle-demo-agent --stream -- runuser -u node -- sh -c",
	} {
		b := Bottle{Name: "demo", Backend: backend, Agent: "claude-bottle-demo-agent"}
		argv := b.execArgv(guestArgv(have))
		if got := shell.Join(argv[:len(argv)-4]); got != want {
			t.Errorf("%s: %s", backend, got)
		}
		if tail := argv[len(argv)-3:]; tail[0] != "claude-bottle-fetch" || tail[1] != "/home/node/workspace" || tail[2] != oid1 {
			t.Errorf("%s: arguments %q", backend, tail)
		}
	}
}

func TestLabelArgs(t *testing.T) {
	if got := shell.Join(Record{"/src/my app", oid1}.LabelArgs()); got != "--label 'claude-bottle.repo=/src/my app' --label claude-bottle.base="+oid1 {
		t.Errorf("LabelArgs = %s", got)
	}
	if got := (Record{}).LabelArgs(); got != nil {
		t.Errorf("no repository: %q", got)
	}
}

func TestPlanRefs(t *testing.T) {
	const p = "refs/remotes/bottle/demo/"
	oid2 := strings.Repeat("2", 40)
	refs := []Ref{{oid1, "refs/heads/main"}, {oid2, "refs/heads/new"}, {oid1, "refs/heads/main"}, {oid1, "refs/heads/new/sub"}}
	tracked := map[string]string{p + "main": oid2, p + "gone": oid1, p + "uncommitted": oid1}
	got := planRefs(refs, tracked, p, false)
	want := refPlan{
		updates: []Update{{p + "main", oid2, oid1}, {p + "new", "", oid2}},
		deletes: []Update{{Ref: p + "uncommitted", Old: oid1}},
		kept:    []string{p + "gone"},
	}
	if !equalUpdates(got.updates, want.updates) || !equalUpdates(got.deletes, want.deletes) ||
		strings.Join(got.kept, ",") != strings.Join(want.kept, ",") || len(got.skipped) != 2 {
		t.Errorf("planRefs = %+v\nwant %+v (and 2 skipped)", got, want)
	}
	if got := planRefs(nil, tracked, p, true); len(got.deletes) != 3 || len(got.kept) != 0 {
		t.Errorf("prune: %+v", got)
	}
}

func equalUpdates(a, b []Update) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadHeader(t *testing.T) {
	oid256 := strings.Repeat("a", 64)
	head := "# v3 git bundle\n@object-format=sha256\n-" + oid256 + " a comment\n" + oid256 + " refs/heads/main\n\n"
	h, err := ReadHeader(strings.NewReader(head + "PACK"))
	if err != nil || h.ObjectFormat != "sha256" || len(h.Prerequisites) != 1 || h.Refs[0].Name != "refs/heads/main" || h.Size != int64(len(head)) {
		t.Errorf("v3: %+v %v", h, err)
	}
	var many strings.Builder
	many.WriteString("# v2 git bundle\n")
	for i := 0; i <= maxRefs; i++ {
		many.WriteString(oid1 + " refs/heads/b\n")
	}
	if _, err := ReadHeader(strings.NewReader(many.String() + "\n")); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too many refs: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "1g": 1 << 30, "100": 100, "64K": 64 << 10, "2MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "x", "1T", "9999999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{512 << 20: "512 MiB", 1 << 30: "1 GiB", 1536: "1536 bytes", 2048: "2 KiB", 5: "5 bytes"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRecordArgs(t *testing.T) {
	rec := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply { return shell.Reply{Stdout: oid1 + "\n"} }}
	got, err := RecordHead(context.Background(), rec, "/src/app")
	if err != nil || shell.Join(got.LabelArgs()) != "--label claude-bottle.repo=/src/app --label claude-bottle.base="+oid1 {
		t.Errorf("RecordArgs = %q, %v", got, err)
	}
	if call := shell.Join(rec.Calls()[0].Argv); call != "git -C /src/app rev-parse --verify --quiet 'HEAD^{commit}'" {
		t.Errorf("ran %s", call)
	}
	unborn := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply { return shell.Reply{ExitCode: 1} }}
	if got, err := RecordHead(context.Background(), unborn, "/src/app"); err != nil || len(got.LabelArgs()) != 2 {
		t.Errorf("unborn HEAD: %q, %v", got, err)
	}
	broken := &shell.Recorder{Answer: func(int, shell.Cmd) shell.Reply {
		return shell.Reply{ExitCode: 128, Stderr: "fatal: not a git repository"}
	}}
	if _, err := RecordHead(context.Background(), broken, "/src/app"); err == nil {
		t.Error("a failing git was no error")
	}
}

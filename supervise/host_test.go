package supervise

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/job"
	"github.com/claude-bottle/claude-bottle/shell"
)

// runHost runs `claude-bottle supervise ARGS…` on the host with rec as the
// runner, and returns stdout and the exit code.
func runHost(t *testing.T, rec *shell.Recorder, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name:           "claude-bottle",
		Commands:       []*cli.Command{HostCommand(func(*cli.Context) shell.Runner { return rec }, func(*cli.Context) job.Where { return job.Where{Backend: job.Docker} })},
		Reader:         strings.NewReader(""),
		Writer:         &out,
		ErrWriter:      &errOut,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.Run(append([]string{"claude-bottle", "supervise"}, args...))
	if err == nil {
		return out.String(), 0
	}
	if ec, ok := err.(cli.ExitCoder); ok {
		return out.String(), ec.ExitCode()
	}
	t.Fatalf("supervise %v: %v", args, err)
	return "", 0
}

// bundleOf answers the check that bottle b1's bundle exists
// (job.LocateBundle), and otherwise passes to answer.
func bundleOf(answer func(shell.Cmd) shell.Reply) func(int, shell.Cmd) shell.Reply {
	return func(_ int, c shell.Cmd) shell.Reply {
		if c.Argv[1] == "inspect" {
			name := strings.TrimSuffix(strings.TrimPrefix(c.Argv[len(c.Argv)-1], "claude-bottle-"), "-bundle")
			return shell.Reply{Stdout: `{"claude-bottle.name":"` + name + `","claude-bottle.role":"bundle"}` + "\n"}
		}
		return answer(c)
	}
}

func TestHostCommandArgv(t *testing.T) {
	rec := &shell.Recorder{Answer: bundleOf(func(shell.Cmd) shell.Reply { return shell.Reply{Stdout: "out\n"} })}
	for _, args := range [][]string{
		{"ls", "b1"},
		{"ls", "--all", "b1"},
		{"ls", "b1", "--all", "--json"},
		{"approve", "b1", "r3"},
		{"approve", "b1", "r3", "--note", "ok, but only docs"},
		{"approve", "--note=-x", "b1", "r12"},
		{"deny", "b1", "r4", "--note", "it's a tracker"},
		{"watch", "my_bottle-2"},
	} {
		out, code := runHost(t, rec, args...)
		if code != 0 || out != "out\n" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
	want := `docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise ls
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise ls --all
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise ls --all --json
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise approve r3
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise approve '--note=ok, but only docs' r3
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise approve --note=-x r12
docker exec claude-bottle-b1-bundle /usr/local/bin/claude-bottle sidecar supervise deny '--note=it'"'"'s a tracker' r4
docker exec -i claude-bottle-my_bottle-2-bundle /usr/local/bin/claude-bottle sidecar supervise watch --exit-on-eof
`
	var got []string
	for _, c := range rec.Calls() {
		if c.Argv[1] != "inspect" {
			got = append(got, shell.Join(c.Argv)+"\n")
		}
	}
	if strings.Join(got, "") != want {
		t.Errorf("transcript\n%s\nwant\n%s", strings.Join(got, ""), want)
	}
}

func TestHostCommandRejectsBadInput(t *testing.T) {
	rec := &shell.Recorder{}
	for _, args := range [][]string{
		{"ls"},
		{"ls", "../x"},
		{"ls", "b1", "extra"},
		{"approve", "b1"},
		{"approve", "b1", "3"},
		{"approve", "b1", "r0"},
		{"deny", "b1", "r1; rm -rf /"},
		{"deny", "b1", "r1", "--bogus"},
		{"deny", "b1", "r1", "--note"},
		{"watch", "b 1"},
	} {
		if _, code := runHost(t, rec, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if got := rec.Transcript(); got != "" {
		t.Errorf("commands ran on bad input:\n%s", got)
	}
}

func TestHostCommandPassesExitStatus(t *testing.T) {
	rec := &shell.Recorder{Answer: bundleOf(func(shell.Cmd) shell.Reply {
		return shell.Reply{Stderr: "decide r7: no request r7\n", ExitCode: 1}
	})}
	if _, code := runHost(t, rec, "approve", "b1", "r7"); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

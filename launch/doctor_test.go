package launch

import (
	"context"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/shell"
)

func TestSmolvmVersionCheck(t *testing.T) {
	cases := map[string]bool{"smolvm 1.9.2": true, "smolvm 1.17.0": true, "smolvm 2.0": true, "smolvm 1.9.1": false,
		"smolvm 1.7.1": false, "smolvm": false, "": false, "smolvm v1.10.0": true}
	for out, ok := range cases {
		if c := versionCheck(out); c.OK != ok {
			t.Errorf("versionCheck(%q) = %v (%s), want %v", out, c.OK, c.Detail, ok)
		}
	}
}

// TestDoctorImageIDs: doctor says which image each role uses, by ID, so a
// stale local tag shows (found: doctor said "present" and nothing more).
func TestDoctorImageIDs(t *testing.T) {
	ids := map[string]string{"claude-bottle/bundle:latest": "sha256:" + strings.Repeat("b", 64),
		"claude-bottle/agent:latest": "sha256:" + strings.Repeat("a", 64)}
	r := &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
		if len(c.Argv) == 6 && c.Argv[1] == "image" && c.Argv[2] == "inspect" {
			return shell.Reply{Stdout: ids[c.Argv[5]] + "\n"}
		}
		return shell.Reply{Stdout: "x 1.9.2\n"}
	}}
	var out strings.Builder
	PrintChecks(&out, Doctor(context.Background(), r, DoctorEnv{Backend: Docker,
		AgentImage: "claude-bottle/agent:latest", BundleImage: "claude-bottle/bundle:latest"}))
	for _, want := range []string{
		"ok   bundle image claude-bottle/bundle:latest: present\n     image ID " + ids["claude-bottle/bundle:latest"] + "\n",
		"ok   agent image claude-bottle/agent:latest: present\n     image ID " + ids["claude-bottle/agent:latest"] + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor printed:\n%s\nwant:\n%s", out.String(), want)
		}
	}
}

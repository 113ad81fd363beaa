package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLsWithoutSmolvm: where smolvm is absent, a leftover smolmachines
// bundle does not break ls: its bottle is "unknown", the others are
// listed, one warning says why, and ls succeeds.
func TestLsWithoutSmolvm(t *testing.T) {
	bin, dir := turnsSetUp(t, "")
	for _, args := range [][]string{
		{"--backend", "smolmachines", "launch", "--name", "smol", "--smolvm-net", "tsi", "--detach"},
		{"launch", "--name", "dock", "--detach"},
	} {
		if code, _, stderr := runCB(t, bin, dir, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	// A PATH with claude-bottle and docker, and no smolvm.
	noSmolvm := filepath.Join(dir, "bin")
	must(t, os.MkdirAll(noSmolvm, 0o755))
	docker, err := exec.LookPath("docker")
	must(t, err)
	must(t, os.Symlink(docker, filepath.Join(noSmolvm, "docker")))
	must(t, os.Symlink(bin, filepath.Join(noSmolvm, "claude-bottle")))

	for _, args := range [][]string{{"ls"}, {"ls", "--json"}} {
		cmd := standIn(filepath.Join(noSmolvm, "claude-bottle"), dir, args...)
		cmd.Env = append(cmd.Env, "PATH="+noSmolvm)
		out, errb := &strings.Builder{}, &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb)
		}
		if n := strings.Count(errb.String(), "\n"); n != 1 || !strings.Contains(errb.String(), "level=warning") ||
			!strings.Contains(errb.String(), "smolvm") {
			t.Errorf("%v: want one warning naming smolvm, got:\n%s", args, errb)
		}
		want := []string{`(?m)^dock +docker +running `, `(?m)^smol +smolmachines +unknown `}
		if args[len(args)-1] == "--json" {
			want = []string{`"name": "dock",\s+"backend": "docker",\s+"state": "running"`,
				`"name": "smol",\s+"backend": "smolmachines",\s+"state": "unknown"`}
		}
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(out.String()) {
				t.Errorf("%v: stdout does not match %s:\n%s", args, w, out)
			}
		}
	}
}

package launch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitDir: --cwd reads the host's .git at prepare (setGuest); what
// cannot travel is an input error (exit 2) that says how to fix it.
func TestGitDir(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	cases := []struct {
		name  string
		spoil func(gd string) error
		want  string // "" accepted
	}{
		{"plain", func(string) error { return nil }, ""},
		{"alternates", func(gd string) error {
			return os.WriteFile(filepath.Join(gd, "objects", "info", "alternates"), []byte("/srv/o\n"), 0o644)
		}, "git repack -a -d"},
		{"reftable", func(gd string) error {
			return os.WriteFile(filepath.Join(gd, "config"), []byte("[core]\nrepositoryformatversion = 1\n[extensions]\nrefstorage = reftable\n"), 0o644)
		}, "reftable"},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "repo")
		if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v %s", err, out)
		}
		if err := c.spoil(filepath.Join(dir, ".git")); err != nil {
			t.Fatal(err)
		}
		repo, err := gitDir(dir, false)
		var in *InputError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && (repo == nil || repo.Dir != filepath.Join(dir, ".git") || repo.Worktree == nil || repo.Worktree.Dir != dir):
			t.Errorf("%s: repo = %+v", c.name, repo)
		case c.want != "" && (!errors.As(err, &in) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--cwd")):
			t.Errorf("%s: err = %v, want an input error about --cwd that says %q", c.name, err, c.want)
		}
	}
}

// TestHeadOnly: --head-only leaves the working tree out (HEAD alone, as
// before the working tree travelled); without --cwd it is an input error.
func TestHeadOnly(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := filepath.Join(t.TempDir(), "repo")
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	o := hostFileOptions()
	o.Cwd, o.HeadOnly = dir, true
	p, err := prepareWithin(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Guest.Repo == nil || p.Guest.Repo.Worktree != nil {
		t.Errorf("--head-only: repo %+v, want one without a working tree", p.Guest.Repo)
	}
	o.Cwd = ""
	var in *InputError
	if _, err := prepareWithin(t, o); !errors.As(err, &in) || !strings.Contains(err.Error(), "--head-only needs --cwd") {
		t.Errorf("--head-only without --cwd: %v", err)
	}
}

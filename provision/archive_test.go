package provision

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestArchiveOwnersAndModes(t *testing.T) {
	dir := t.TempDir()
	skill := filepath.Join(dir, "review")
	os.MkdirAll(filepath.Join(skill, "bin"), 0o755)
	os.WriteFile(filepath.Join(skill, "SKILL.md"), []byte("# review\n"), 0o644)
	os.WriteFile(filepath.Join(skill, "bin", "run"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("SKILL.md", filepath.Join(skill, "README"))
	prompt := filepath.Join(dir, "p.txt")
	os.WriteFile(prompt, []byte("do it"), 0o644)

	files := Files(Inputs{Prompt: prompt, Skills: []string{skill}}, Live{CA: []byte("CERT"), CAKind: CAPipelock})
	type entry struct {
		uid  int
		mode int64
		typ  byte
		link string
	}
	got := map[string]entry{}
	tr := tar.NewReader(Archive(files))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = entry{h.Uid, h.Mode, h.Typeflag, h.Linkname}
	}
	want := map[string]entry{
		"usr/local/share/ca-certificates/claude-bottle-pipelock.crt": {0, 0o644, tar.TypeReg, ""},
		"home/node/.claude-bottle-prompt.txt":                        {1000, 0o600, tar.TypeReg, ""},
		"home/node/.claude/":                                         {1000, 0o755, tar.TypeDir, ""},
		"home/node/.claude/skills/":                                  {1000, 0o755, tar.TypeDir, ""},
		"home/node/.claude/skills/review/":                           {1000, 0o755, tar.TypeDir, ""},
		"home/node/.claude/skills/review/SKILL.md":                   {1000, 0o644, tar.TypeReg, ""},
		"home/node/.claude/skills/review/bin/":                       {1000, 0o755, tar.TypeDir, ""},
		"home/node/.claude/skills/review/bin/run":                    {1000, 0o755, tar.TypeReg, ""},
		"home/node/.claude/skills/review/README":                     {1000, 0o777, tar.TypeSymlink, "SKILL.md"},
	}
	if len(got) != len(want) {
		t.Errorf("archive has %d entries, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s: got %+v (present %v), want %+v", name, g, ok, w)
		}
	}
}

func TestNotesListSkillFiles(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte("x"), 0o640)
	notes := Notes([]File{{Path: SkillsDir + "/s", Owner: Agent, Source: dir, Tree: true, List: true},
		{Path: Gitconfig, Owner: Agent, Mode: 0o644, Content: []byte("[url]\n"), Show: true}})
	want := []string{"node 0700 /home/node/.claude/skills/s/", "node 0640 /home/node/.claude/skills/s/SKILL.md",
		"node 0644 /home/node/.gitconfig", "    [url]"}
	if len(notes) != len(want) {
		t.Fatalf("notes = %q", notes)
	}
	for i := range want {
		if notes[i] != want[i] {
			t.Errorf("note %d = %q, want %q", i, notes[i], want[i])
		}
	}
}

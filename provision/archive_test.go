package provision

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// archiveEntry is one entry of an archive, with its content.
type archiveEntry struct {
	*tar.Header
	body []byte
}

// readEntries reads every entry of an archive, in order.
func readEntries(t *testing.T, r io.Reader) []archiveEntry {
	t.Helper()
	var out []archiveEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, archiveEntry{h, b})
	}
}

func TestArchiveOwnersAndModes(t *testing.T) {
	dir := t.TempDir()
	skill := filepath.Join(dir, "review")
	os.MkdirAll(filepath.Join(skill, "bin"), 0o755)
	os.WriteFile(filepath.Join(skill, "SKILL.md"), []byte("# review\n"), 0o644)
	os.WriteFile(filepath.Join(skill, "bin", "run"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("SKILL.md", filepath.Join(skill, "README"))
	prompt := filepath.Join(dir, "p.txt")
	os.WriteFile(prompt, []byte("do it"), 0o644)

	files := Files(Inputs{Prompt: prompt, Skills: []Skill{{Name: "review", Dir: skill}}}, Live{CA: []byte("CERT"), CAKind: CAPipelock})
	type entry struct {
		uid  int
		mode int64
		typ  byte
		link string
	}
	got := map[string]entry{}
	for _, h := range readEntries(t, Archive(files)) {
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

// TestArchiveSpecialBits: a tree with setuid, setgid and sticky bits (git
// init --shared=group makes .git setgid) archives; setgid and sticky stay
// on directories, no special bit stays on a file.
func TestArchiveSpecialBits(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	for _, d := range []string{"shared", "tmp"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"suid", "sgid", "sticky"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chmod := map[string]fs.FileMode{
		"":       0o755 | fs.ModeSetgid,
		"shared": 0o775 | fs.ModeSetgid,
		"tmp":    0o777 | fs.ModeSticky,
		"suid":   0o755 | fs.ModeSetuid,
		"sgid":   0o755 | fs.ModeSetgid,
		"sticky": 0o644 | fs.ModeSticky,
	}
	for rel, m := range chmod {
		if err := os.Chmod(filepath.Join(src, rel), m); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(filepath.Join(src, rel)); fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 {
			t.Fatalf("%s: chmod %v kept no special bit: the test would prove nothing", rel, m)
		}
	}
	got := map[string]int64{}
	for _, h := range readEntries(t, Archive([]File{{Path: "/t", Owner: Agent, Source: src, Tree: true}})) {
		got[h.Name] = h.Mode
	}
	want := map[string]int64{"t/": 0o2755, "t/shared/": 0o2775, "t/tmp/": 0o1777,
		"t/suid": 0o755, "t/sgid": 0o755, "t/sticky": 0o644}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s: mode %04o (present %v), want %04o", name, g, ok, w)
		}
	}
}

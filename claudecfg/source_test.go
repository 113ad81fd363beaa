package claudecfg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/provision"
)

// TestSource: which directory and .claude.json a launch reads.
func TestSource(t *testing.T) {
	home := t.TempDir()
	write(t, home+"/.claude/CLAUDE.md", "home\n", 0o644)
	write(t, home+"/.claude.json", `{"theme":"home-theme"}`, 0o600)
	write(t, home+"/.claude/.claude.json", `{"theme":"wrong-inside-home"}`, 0o600)
	cfg := t.TempDir()
	write(t, cfg+"/CLAUDE.md", "cfg\n", 0o644)
	write(t, cfg+"/.claude.json", `{"theme":"cfg-theme"}`, 0o600)
	legacy := t.TempDir()
	write(t, legacy+"/CLAUDE.md", "legacy\n", 0o644)
	write(t, legacy+"/.claude.json", `{"theme":"not-the-legacy"}`, 0o600)
	write(t, legacy+"/.config.json", `{"theme":"legacy-theme"}`, 0o600)
	flag := t.TempDir()
	write(t, flag+"/CLAUDE.md", "flag\n", 0o644)
	linked := filepath.Join(t.TempDir(), "dotclaude")
	link(t, cfg, linked)

	for _, c := range []struct {
		name, flag      string
		env             []string
		memory, theme   string // "" memory: no ~/.claude placed; "" theme: none
		bareNote, error string
	}{
		{name: "home", env: []string{"HOME", home}, memory: "home\n", theme: "home-theme"},
		{name: "CLAUDE_CONFIG_DIR holds .claude.json", env: []string{"HOME", home, "CLAUDE_CONFIG_DIR", cfg}, memory: "cfg\n", theme: "cfg-theme"},
		{name: "legacy .config.json", env: []string{"HOME", home, "CLAUDE_CONFIG_DIR", legacy}, memory: "legacy\n", theme: "legacy-theme"},
		{name: "flag over CLAUDE_CONFIG_DIR", flag: flag, env: []string{"HOME", home, "CLAUDE_CONFIG_DIR", cfg}, memory: "flag\n"},
		{name: "flag through a symlink", flag: linked, env: []string{"HOME", home}, memory: "cfg\n", theme: "cfg-theme"},
		{name: "none", flag: None, env: []string{"HOME", home}, bareNote: "--claude-config none"},
		{name: "no home", env: nil, bareNote: "neither $CLAUDE_CONFIG_DIR nor $HOME is set"},
		{name: "empty home", env: []string{"HOME", t.TempDir()}, bareNote: "no ~/.claude nor ~/.claude.json"},
		{name: "CLAUDE_CONFIG_DIR missing", env: []string{"HOME", home, "CLAUDE_CONFIG_DIR", home + "/nope"}, bareNote: "does not exist"},
		{name: "flag missing", flag: home + "/nope", env: []string{"HOME", home}, error: "invalid --claude-config"},
		{name: "flag a file", flag: home + "/.claude.json", env: []string{"HOME", home}, error: "is not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Read(Options{Flag: c.flag, Getenv: env(c.env...), Workspace: provision.Workspace})
			if c.error != "" {
				if err == nil || !strings.Contains(err.Error(), c.error) {
					t.Fatalf("err %v, want %q", err, c.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.bareNote != "" {
				if len(s.Files) != 0 || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], c.bareNote) {
					t.Errorf("want a bare bottle saying %q; got %d files, notes %q", c.bareNote, len(s.Files), s.Notes)
				}
				return
			}
			if got := string(content(t, s, GuestDir+"/CLAUDE.md")); got != c.memory {
				t.Errorf("CLAUDE.md %q, want %q", got, c.memory)
			}
			if got := string(content(t, s, GuestJSON)); !strings.Contains(got, `"theme": "`+c.theme+`"`) != (c.theme == "") {
				t.Errorf(".claude.json, want theme %q:\n%s", c.theme, got)
			}
		})
	}
}

// TestHomeJSONOnly: ~/.claude.json without ~/.claude still gives the
// generated config, and no ~/.claude directory.
func TestHomeJSONOnly(t *testing.T) {
	home := t.TempDir()
	write(t, home+"/.claude.json", `{"theme":"light"}`, 0o600)
	s := mustRead(t, Options{Getenv: env("HOME", home), Workspace: provision.Workspace})
	if got := placed(s); len(got) != 1 || got[GuestJSON] == "" {
		t.Errorf("placed %v, want only %s", got, GuestJSON)
	}
}

// TestFIFOsNeverBlock: a FIFO as .claude.json, settings.json or a file of
// the tree is refused at once (open(2) of a FIFO waits for a writer).
func TestFIFOsNeverBlock(t *testing.T) {
	home := t.TempDir()
	for _, p := range []string{"/.claude.json", "/.claude/settings.json", "/.claude/commands/x.md"} {
		os.MkdirAll(filepath.Dir(home+p), 0o755)
		if err := syscall.Mkfifo(home+p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan provision.ClaudeSetup)
	go func() { s, _ := Read(Options{Getenv: env("HOME", home), Workspace: provision.Workspace}); done <- s }()
	select {
	case s := <-done:
		all := strings.Join(append(s.Notes, s.Warnings...), "\n")
		for _, want := range []string{"~/.claude.json not read: ", "left out ~/.claude/settings.json: not a regular file", "left out ~/.claude/commands/x.md: not a regular file"} {
			if !strings.Contains(all, want) {
				t.Errorf("no %q in:\n%s", want, all)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read blocked on a FIFO")
	}
}

// TestReadFileChecksWhatItOpens: a path swapped (for a symlink out of the
// tree, say) between the walk and the open is refused.
func TestReadFileChecksWhatItOpens(t *testing.T) {
	dir := t.TempDir()
	write(t, dir+"/a", "a", 0o644)
	write(t, dir+"/b", "b", 0o644)
	seen, _ := os.Lstat(dir + "/a")
	if _, err := readFile(dir+"/b", seen); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("err %v, want a changed file refused", err)
	}
	if b, err := readFile(dir+"/a", seen); err != nil || string(b) != "a" {
		t.Errorf("%q %v", b, err)
	}
}

// TestCaps: a setup over the caps in all is refused with what to do; a
// file over its own cap is only left out (TestReadLeftOut).
func TestCaps(t *testing.T) {
	t.Run("size", func(t *testing.T) {
		home := t.TempDir()
		for i := range MaxTotalSize/MaxFileSize + 1 {
			write(t, filepath.Join(home, ".claude/skills/big", fmt.Sprintf("%02d", i)), strings.Repeat("x", MaxFileSize), 0o644)
		}
		_, err := Read(Options{Getenv: env("HOME", home), Workspace: provision.Workspace})
		if err == nil || !strings.Contains(err.Error(), "holds more than 32 MiB to copy") || !strings.Contains(err.Error(), "--claude-config none") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("entries", func(t *testing.T) {
		home := t.TempDir()
		for i := range MaxEntries + 1 {
			write(t, filepath.Join(home, ".claude/commands", fmt.Sprintf("%05d.md", i)), "", 0o644)
		}
		_, err := Read(Options{Getenv: env("HOME", home), Workspace: provision.Workspace})
		if err == nil || !strings.Contains(err.Error(), "more than 4096 files and directories") {
			t.Errorf("err %v", err)
		}
	})
}

package provision

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// claudeSetup is a user setup as claudecfg returns it: ~/.claude (0700),
// a skills/ of its own, a file, and a .claude.json whose display differs
// from its content.
func claudeSetup(n int) ClaudeSetup {
	s := ClaudeSetup{Files: []File{
		{Path: Home + "/.claude", Owner: Agent, Mode: 0o700, Dir: true},
		{Path: SkillsDir, Owner: Agent, Mode: 0o700, Dir: true},
		{Path: Home + "/.claude.json", Owner: Agent, Mode: 0o600, Content: []byte(`{"k":"SECRET-SUFFIX"}`), Show: true, Display: []byte(`{"k":"<shown>"}`)},
	}, Notes: []string{"left out ~/.claude/projects/"}, Warnings: []string{"dropped env.GITHUB_TOKEN"}}
	for i := range n {
		s.Files = append(s.Files, File{Path: fmt.Sprintf("%s/.claude/commands/c%03d.md", Home, i), Owner: Agent, Mode: 0o644, Content: []byte("x")})
	}
	return s
}

// TestClaudeSetupInTheArchive: the setup's files travel in the one
// archive before the skills, a --skill adds no second ~/.claude or
// skills/ entry over the setup's, and the dry-run shows the display, never
// the content.
func TestClaudeSetupInTheArchive(t *testing.T) {
	dir := t.TempDir()
	write(t, dir+"/review/SKILL.md", "# review\n", 0o644)
	in := Inputs{Skills: []Skill{{Name: "review", Dir: dir + "/review"}}, Claude: claudeSetup(1)}
	files := Files(in, Live{CA: []byte("CERT"), CAKind: CAPipelock})
	var names []string
	modes := map[string]int64{}
	for _, h := range readEntries(t, Archive(files)) {
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
	}
	want := []string{"usr/local/share/ca-certificates/claude-bottle-pipelock.crt", "home/node/.claude/", "home/node/.claude/skills/",
		"home/node/.claude.json", "home/node/.claude/commands/c000.md", "home/node/.claude/skills/review/", "home/node/.claude/skills/review/SKILL.md"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("archive:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if modes["home/node/.claude/"] != 0o700 || modes["home/node/.claude/skills/"] != 0o700 {
		t.Errorf("the setup's directory modes were not kept: %o %o", modes["home/node/.claude/"], modes["home/node/.claude/skills/"])
	}
	notes := strings.Join(append(Notes(files), in.Claude.noteLines()...), "\n")
	if strings.Contains(notes, "SECRET-SUFFIX") || !strings.Contains(notes, `    {"k":"<shown>"}`) {
		t.Errorf("the dry-run shows the content, not the display:\n%s", notes)
	}
	for _, want := range []string{"claude setup: left out ~/.claude/projects/", "claude setup: warning: dropped env.GITHUB_TOKEN"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if bare := (ClaudeSetup{Notes: []string{"--claude-config none"}}).noteLines(); bare != nil {
		t.Errorf("a bare setup comments the archive: %q", bare)
	}
}

// countingGuest counts the commands provisioning runs.
type countingGuest struct{ n int }

func (g *countingGuest) CopyIn(_ context.Context, a io.Reader, _ []string) error {
	g.n++
	_, err := io.Copy(io.Discard, a)
	return err
}
func (g *countingGuest) Exec(context.Context, User, []string, io.Writer) error { g.n++; return nil }
func (g *countingGuest) Attach(context.Context, []string, bool) error          { g.n++; return nil }

// TestClaudeSetupAddsNoCommand: provisioning runs as many commands with no
// setup as with one of 200 files.
func TestClaudeSetupAddsNoCommand(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	count := func(s ClaudeSetup) int {
		g := &countingGuest{}
		if err := Run(context.Background(), g, log, Inputs{Supervise: true, Claude: s}, Live{CA: []byte("C"), CAKind: CAPipelock}, nil); err != nil {
			t.Fatal(err)
		}
		return g.n
	}
	if none, many := count(ClaudeSetup{}), count(claudeSetup(200)); none != many || none == 0 {
		t.Errorf("%d commands with no setup, %d with 200 files", none, many)
	}
}

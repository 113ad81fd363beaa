// Package provision places what the agent needs in a guest — the bundle's CA,
// the git-gate gitconfig and workspace, the prompt, skills, the supervise MCP
// registration — through a small Guest interface implemented once per
// backend. The steps are the same on docker and smolmachines.
package provision

import (
	"fmt"
	"io/fs"
	"strings"
)

// User owns files in the guest and runs commands there.
type User struct {
	Name     string
	UID, GID int
}

var (
	Root  = User{Name: "root", UID: 0, GID: 0}
	Agent = User{Name: "node", UID: 1000, GID: 1000}
)

// Guest paths.
const (
	Home       = "/home/node"
	Workspace  = Home + "/workspace"
	PromptPath = Home + "/.claude-bottle-prompt.txt"
	SkillsDir  = Home + "/.claude/skills"
	Gitconfig  = Home + "/.gitconfig"
	CADir      = "/usr/local/share/ca-certificates"
)

// CAPath is where the CA of the given kind ("pipelock" or "egress") lands.
func CAPath(kind string) string { return CADir + "/claude-bottle-" + kind + ".crt" }

// File is one entry placed in a guest (or the bundle): generated Content, a
// host file (Source), a host directory copied whole (Source with Tree), or
// the parts of a host .git a checkout needs (Source with Git).
type File struct {
	Path    string // absolute, in the guest
	Owner   User
	Mode    fs.FileMode
	Content []byte
	Source  string
	// Max caps a Source file's size (checked when the archive reads it,
	// as at prepare); 0 means DefaultMaxSize.
	Max  int64
	Tree bool
	// Git copies the host .git Source as a checkout needs it (see Repo),
	// with Content as its config.
	Git *Repo
	// List enumerates a Tree's files in the dry-run (skills); without it a
	// tree is one line.
	List bool
	// Show prints Content in the dry-run transcript (generated config), or
	// Display instead when set: the content with what must not be printed
	// (a key's last characters) replaced.
	Show    bool
	Display []byte
	// Dir marks an explicit directory entry (so that the archive sets its
	// owner instead of leaving an implied root-owned parent).
	Dir bool
	// Worktree places the host working tree's changes under Path (the
	// workspace): see Worktree.
	Worktree *Worktree
}

// noteLine is the dry-run's "# owner mode path" line for f.
func (f File) noteLine() string {
	owner := f.Owner.Name
	if owner == "" {
		owner = Root.Name
	}
	switch {
	case f.Dir:
		return fmt.Sprintf("%s %04o %s/", owner, f.Mode.Perm(), f.Path)
	case f.Git != nil:
		return fmt.Sprintf("%s %04o %s/ <- %s: %s", owner, f.Mode.Perm(), f.Path, f.Source, gitDirNote)
	case f.Worktree != nil:
		return fmt.Sprintf("%s - %s/ <- %s: %s", owner, f.Path, f.Worktree.Dir, worktreeNote)
	case f.Tree:
		return fmt.Sprintf("%s - %s/ <- %s (whole tree, modes kept)", owner, f.Path, f.Source)
	case f.Source != "":
		return fmt.Sprintf("%s %04o %s <- %s", owner, f.Mode.Perm(), f.Path, f.Source)
	default:
		return fmt.Sprintf("%s %04o %s", owner, f.Mode.Perm(), f.Path)
	}
}

// Notes are the dry-run comment lines for files: one "owner mode path" line
// each, and the content of generated files that ask to be shown.
func Notes(files []File) []string {
	var out []string
	for _, f := range files {
		if f.Tree && f.List {
			lines, err := treeNotes(f.Source, f.Path, f.Owner)
			if err != nil {
				lines = append(lines, "cannot list "+f.Source+": "+err.Error())
			}
			out = append(out, lines...)
			continue
		}
		out = append(out, f.noteLine())
		shown := f.Content
		if f.Display != nil {
			shown = f.Display
		}
		if f.Show && len(shown) > 0 {
			for _, l := range strings.Split(strings.TrimRight(string(shown), "\n"), "\n") {
				out = append(out, "    "+l)
			}
		}
	}
	return out
}

package claudecfg

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/provision"
)

// userConfig are the entries of the configuration directory that travel:
// what Claude Code documents as written by the user, for all projects
// (D:claude-directory's file reference, global scope: CLAUDE.md,
// settings.json, rules/, skills/, commands/, output-styles/, agents/,
// workflows/, agent-memory/ (subagents' user-scope memory), keybindings.json
// (D:keybindings), themes/). Everything else is left out: an allowlist, so
// that what a new Claude Code release starts keeping there stays home
// until someone decides it is configuration.
var userConfig = map[string]bool{
	"CLAUDE.md": true, "settings.json": true, "keybindings.json": true,
	"rules": true, "skills": true, "commands": true, "output-styles": true,
	"agents": true, "workflows": true, "agent-memory": true, "themes": true,
}

// leftOut says why an entry never travels, for the entries whose reason
// is worth its own line.
//
// .credentials.json is Claude Code's credential store on Linux
// (D:authentication); ide/ holds lock files with the IDE connection's auth
// token (D:vs-code); local/ is a legacy npm install (D:troubleshoot-install);
// plugins/ holds the installed plugins' code as a cache (plugins/cache,
// cloned marketplaces: D:claude-directory, "plugin caching") that Claude
// Code would fetch again, which a bottle cannot.
var leftOut = map[string]string{
	".credentials.json": "credentials (Claude Code's credential store)",
	"ide":               "IDE lock files, which hold the IDE connection's auth token",
	"local":             "a legacy npm install of Claude Code",
	"plugins":           "plugins do not travel: their code is a cache (plugins/cache, cloned marketplaces) the bottle could not fetch again",
	".claude.json":      "the global config: read for the theme and the MCP servers; the guest's is generated",
	".config.json":      "the global config (legacy name): read for the theme and the MCP servers; the guest's is generated",
}

// claudeState are entries Claude Code writes itself as it works
// (D:claude-directory, application data): transcripts and per-project
// state (projects/, with its auto memory), history, file snapshots,
// caches, logs. They are left out in one note line.
var claudeState = map[string]bool{
	"projects": true, "history.jsonl": true, "todos": true, "shell-snapshots": true, "statsig": true,
	"file-history": true, "plans": true, "debug": true, "paste-cache": true, "image-cache": true,
	"uploads": true, "session-env": true, "tasks": true, "backups": true, "feedback-bundles": true,
	"usage-data": true, "sessions": true, "stats-cache.json": true, "remote-settings.json": true,
	"cache": true, "policy-limits.json": true, "logs": true, "telemetry": true,
}

// readDir reads the top of the configuration directory: each entry
// travels, or is left out with its reason.
func (r *reader) readDir() error {
	entries, err := os.ReadDir(r.src.dir)
	if err != nil {
		return fmt.Errorf("read the Claude setup %s: %w", r.src.dirName, err)
	}
	fi, err := os.Stat(r.src.dir)
	if err != nil {
		return fmt.Errorf("read the Claude setup %s: %w", r.src.dirName, err)
	}
	r.addDir(GuestDir, fi.Mode())
	var state, other []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case userConfig[name]:
			if err := r.walk(name); err != nil {
				return err
			}
		case leftOut[name] != "":
			r.note("left out %s: %s", r.show(name, e), leftOut[name])
		case claudeState[name]:
			state = append(state, r.show(name, e))
		default:
			other = append(other, r.show(name, e))
		}
	}
	if len(state) > 0 {
		r.note("left out, Claude Code's own state (transcripts, history, caches, logs): %s", strings.Join(state, " "))
	}
	if len(other) > 0 {
		r.note("left out, not configuration Claude Code documents: %s", strings.Join(other, " "))
	}
	return nil
}

// show names an entry of the source in a note: its path under the
// source's name, with a / after a directory.
func (r *reader) show(rel string, e fs.DirEntry) string {
	if e != nil && e.IsDir() {
		rel += "/"
	}
	return r.src.dirName + "/" + rel
}

// walk places one top-level entry of userConfig and everything under it.
// WalkDir does not follow symlinks: each is judged by link. A skill a
// --skill replaces is left out whole, whatever it is (a file there would
// clash with the --skill's directory in the archive).
func (r *reader) walk(top string) error {
	return filepath.WalkDir(filepath.Join(r.src.dir, top), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			r.warn("left out %s: %v", r.src.dirName+"/"+r.rel(path), err)
			return skip(d)
		}
		rel := r.rel(path)
		if dir, name := filepath.Split(rel); dir == "skills/" && slices.Contains(r.o.Skills, name) {
			r.note("left out %s: --skill %s takes its place", r.show(rel, d), name)
			return skip(d)
		}
		switch {
		case d.IsDir():
			return r.dir(rel, d)
		case d.Type()&fs.ModeSymlink != 0:
			return r.link(path, rel)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				r.warn("left out %s: %v", r.show(rel, nil), err)
				return nil
			}
			return r.file(path, rel, fi)
		}
		r.note("left out %s: not a regular file", r.show(rel, nil))
		return nil
	})
}

func skip(d fs.DirEntry) error {
	if d != nil && d.IsDir() {
		return filepath.SkipDir
	}
	return nil
}

func (r *reader) rel(path string) string {
	rel, err := filepath.Rel(r.src.dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}

// dir places a directory, unless it is a .git (a checkout's metadata: its
// config may hold a token, as a workspace's did in issue 10).
func (r *reader) dir(rel string, d fs.DirEntry) error {
	if d.Name() == ".git" {
		r.note("left out %s: a git repository's metadata (its config may hold credentials)", r.show(rel, d))
		return filepath.SkipDir
	}
	fi, err := d.Info()
	if err != nil {
		r.warn("left out %s: %v", r.show(rel, d), err)
		return filepath.SkipDir
	}
	if err := r.count(0); err != nil {
		return err
	}
	r.addDir(GuestDir+"/"+rel, fi.Mode())
	return nil
}

func (r *reader) addDir(path string, mode fs.FileMode) {
	r.files = append(r.files, provision.File{Path: path, Owner: provision.Agent, Mode: mode.Perm(), Dir: true})
}

// link places a symlink as a copy of its target when the target is a
// regular file of the tree that itself travels (so a link cannot smuggle
// .credentials.json or the unfiltered settings.json in under another
// name). A link out of the tree, to a directory, or dangling is left out.
func (r *reader) link(path, rel string) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		r.warn("left out %s: a symlink that does not resolve", r.show(rel, nil))
		return nil
	}
	trel, err := filepath.Rel(r.src.dir, target)
	if err != nil || trel == ".." || strings.HasPrefix(trel, "../") || filepath.IsAbs(trel) {
		r.warn("left out %s: a symlink out of %s", r.show(rel, nil), r.src.dirName)
		return nil
	}
	fi, err := os.Stat(target)
	switch {
	case err != nil:
		r.warn("left out %s: %v", r.show(rel, nil), err)
		return nil
	case !fi.Mode().IsRegular():
		r.note("left out %s: a symlink to something other than a regular file", r.show(rel, nil))
		return nil
	case !travels(filepath.ToSlash(trel)):
		r.warn("left out %s: a symlink to %s, which does not travel", r.show(rel, nil), r.show(filepath.ToSlash(trel), nil))
		return nil
	}
	return r.file(target, rel, fi)
}

// travels says whether a path of the tree is placed as it is: under an
// entry of userConfig other than settings.json (which travels filtered)
// and under no .git.
func travels(rel string) bool {
	parts := strings.Split(rel, "/")
	return userConfig[parts[0]] && parts[0] != "settings.json" && !slices.Contains(parts, ".git")
}

// file places one regular file (settings.json filtered), within the caps.
// fi is what was seen of it before it is opened.
func (r *reader) file(path, rel string, fi fs.FileInfo) error {
	if fi.Size() > MaxFileSize {
		r.warn("left out %s: %d bytes, over the %s cap for one file", r.show(rel, nil), fi.Size(), byteSize(MaxFileSize))
		return nil
	}
	b, err := readFile(path, fi)
	if err != nil {
		r.warn("left out %s: %v", r.show(rel, nil), err)
		return nil
	}
	if rel == "settings.json" {
		if b, err = r.filterSettings(b); err != nil {
			r.warn("left out %s: %v", r.show(rel, nil), err)
			return nil
		}
	}
	if err := r.count(int64(len(b))); err != nil {
		return err
	}
	f := provision.File{Path: GuestDir + "/" + rel, Owner: provision.Agent, Mode: fi.Mode().Perm(), Content: b}
	f.Show = rel == "settings.json" // what the filter kept, for the dry-run
	r.files = append(r.files, f)
	r.placed++
	return nil
}

// count adds one entry of size bytes and refuses a setup over the caps.
func (r *reader) count(size int64) error {
	r.entries++
	r.total += size
	switch {
	case r.total > MaxTotalSize:
		return fmt.Errorf("the Claude setup in %s holds more than %s to copy (files over %s are left out on their own): "+
			"slim it, point --claude-config at a smaller copy, or pass --claude-config none", r.src.dirName, byteSize(MaxTotalSize), byteSize(MaxFileSize))
	case r.entries > MaxEntries:
		return fmt.Errorf("the Claude setup in %s holds more than %d files and directories to copy: "+
			"slim it, point --claude-config at a smaller copy, or pass --claude-config none", r.src.dirName, MaxEntries)
	}
	return nil
}

// readFile reads a regular file of at most MaxFileSize bytes. It opens it
// the way every host file is opened (provision.OpenRegular: never blocks,
// regular files only) and checks that what it opened is what was seen
// before: a path swapped for a symlink since would otherwise be followed
// out of the tree.
func readFile(path string, seen fs.FileInfo) ([]byte, error) {
	f, fi, err := provision.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !os.SameFile(seen, fi) {
		return nil, fmt.Errorf("%s changed while it was read", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("grew over the %s cap for one file while it was read", byteSize(MaxFileSize))
	}
	return b, nil
}

// sortedKeys returns a map's keys in order: notes and the generated files
// are the same on every run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Package claudecfg carries the user's own Claude Code setup into a bottle
// as a filtered copy, never a credential: the user configuration of
// ~/.claude (or $CLAUDE_CONFIG_DIR, or --claude-config DIR) with
// settings.json filtered, and a ~/.claude.json that claude-bottle writes
// itself (onboarding done, the user's theme, the workspace trusted, the
// guest's API key approved, the MCP servers that can work from a bottle).
// Credentials, transcripts, history and Claude Code's own state stay on
// the host.
//
// Sources, cited where each rule is made: D:page is Claude Code's
// documentation at code.claude.com/docs/en/<page>; I#n an issue of
// anthropics/claude-code; both as collected in the project's
// claude-code-facts.md (2026-12-01) and checked again in the stored docs
// and issues. Claude Code itself cannot be installed where this was
// written: how it reads what is written here (the undocumented
// .claude.json keys above all) was not checked against a running Claude
// Code; each such key says so.
package claudecfg

import (
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/provision"
)

// Guest paths: the agent user's own, as Claude Code finds them with no
// CLAUDE_CONFIG_DIR set (claude-bottle sets none).
const (
	GuestDir  = provision.Home + "/.claude"
	GuestJSON = provision.Home + "/.claude.json"
)

// Caps. A file over MaxFileSize is left out with a warning; a setup over
// MaxTotalSize or MaxEntries in all is refused (slim it or pass
// --claude-config none): everything travels in one archive held in memory
// (a full copy of ~/.claude has been seen at 1.6 GB elsewhere, yolobox#66).
const (
	MaxFileSize  = 1 << 20
	MaxTotalSize = 32 << 20
	MaxEntries   = 4096
	// MaxJSONSize caps the host's .claude.json, which is read (for the
	// theme and the MCP servers), never copied; it grows with history.
	MaxJSONSize = 64 << 20
)

// Options are what Read needs of the launch.
type Options struct {
	// Flag is --claude-config: "" for the default source, None, or a directory.
	Flag string
	// Getenv reads claude-bottle's environment (CLAUDE_CONFIG_DIR, HOME).
	Getenv func(string) (string, bool)
	// APIKey is the ANTHROPIC_API_KEY the guest will hold ("" for none).
	APIKey string
	// Skills are the --skill names: each replaces a skill of the setup of
	// the same name (the flag is the more specific ask).
	Skills []string
	// Supervise: provisioning registers claude-bottle's supervise server
	// under that name, so a server of the setup named so is left out.
	Supervise bool
	// AllowHosts is pipelock's allowlist (bundle.AllowHosts): an MCP server
	// whose host is off it is kept with a warning.
	AllowHosts []string
	// Workspace is the folder the agent works in, marked trusted.
	Workspace string
}

// Read reads the user's Claude Code setup and returns what provisioning
// places: the files for ~/.claude (owned by node, modes kept), the
// generated ~/.claude.json, and notes and warnings naming everything left
// out, each with its reason and never with a value. It reads only at
// prepare: the archive carries what was checked here.
func Read(o Options) (provision.ClaudeSetup, error) {
	src, bare, err := locate(o.Flag, o.Getenv)
	if err != nil || bare != "" {
		return provision.ClaudeSetup{Notes: notes(bare)}, err
	}
	r := &reader{o: o, src: src}
	if src.dir != "" {
		if err := r.readDir(); err != nil {
			return provision.ClaudeSetup{}, err
		}
	}
	if err := r.writeJSON(); err != nil {
		return provision.ClaudeSetup{}, err
	}
	head := fmt.Sprintf("from %s: %d files (%s) placed under %s and %s generated, owned by node",
		r.from(), r.placed, byteSize(r.total), GuestDir, GuestJSON)
	return provision.ClaudeSetup{Files: r.files, Notes: append([]string{head}, r.notes...), Warnings: r.warnings}, nil
}

func notes(n ...string) []string {
	var out []string
	for _, s := range n {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// reader accumulates what travels and what is left out.
type reader struct {
	o     Options
	src   source
	files []provision.File
	// notes and warnings say what was left out (warnings: what the user
	// would miss).
	notes, warnings []string
	// placed counts the files placed, total their bytes, entries every
	// entry (directories too).
	placed, entries int
	total           int64
}

func (r *reader) from() string {
	switch {
	case r.src.dir == "":
		return r.src.jsonName
	case exists(r.src.json):
		return r.src.dirName + " and " + r.src.jsonName
	}
	return r.src.dirName
}

func (r *reader) note(format string, a ...any) { r.notes = append(r.notes, fmt.Sprintf(format, a...)) }
func (r *reader) warn(format string, a ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, a...))
}

// byteSize writes a size the way people read it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MiB"
	case n >= 1<<10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<10)), ".0") + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

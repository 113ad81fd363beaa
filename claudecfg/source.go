package claudecfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// None is the --claude-config value for a bare Claude Code.
const None = "none"

// source is where the host's Claude Code setup is read from.
type source struct {
	// dir is the configuration directory, its symlinks resolved; "" when
	// there is none.
	dir string
	// json is the global config file; it may not exist.
	json string
	// dirName and jsonName name them in notes, under HOME as ~/….
	dirName, jsonName string
}

// locate finds the setup: --claude-config DIR, else $CLAUDE_CONFIG_DIR,
// else ~/.claude and ~/.claude.json. A configuration directory other than
// ~/.claude holds its .claude.json inside it ("reads .claude.json from
// inside that directory", D:mcp-quickstart; D:claude-directory: "If you set
// CLAUDE_CONFIG_DIR, every ~/.claude path on this page lives under that
// directory instead"). With nothing to read (--claude-config none, no
// HOME, nothing there) bare says why and the source is empty.
func locate(flag string, getenv func(string) (string, bool)) (src source, bare string, err error) {
	home, _ := getenv("HOME")
	switch env, _ := getenv("CLAUDE_CONFIG_DIR"); {
	case flag == None:
		return source{}, "--claude-config none: the bottle's Claude Code starts bare", nil
	case flag != "":
		src, err = configDir(flag, home, true)
		if err != nil {
			return source{}, "", fmt.Errorf("invalid --claude-config: %w", err)
		}
	case env != "":
		if src, err = configDir(env, home, false); err != nil {
			return source{}, "", fmt.Errorf("$CLAUDE_CONFIG_DIR: %w", err)
		}
		if src.dir == "" {
			return source{}, fmt.Sprintf("$CLAUDE_CONFIG_DIR %s does not exist: the bottle's Claude Code starts bare", src.dirName), nil
		}
	case home == "":
		return source{}, "neither $CLAUDE_CONFIG_DIR nor $HOME is set: the bottle's Claude Code starts bare", nil
	default:
		if src, err = homeDir(home); err != nil {
			return source{}, "", err
		}
		if src.dir == "" && !exists(src.json) {
			return source{}, "no ~/.claude nor ~/.claude.json: the bottle's Claude Code starts bare", nil
		}
	}
	return src, "", nil
}

// configDir is a configuration directory whose .claude.json is inside it.
// must: it has to exist (named by --claude-config).
func configDir(dir, home string, must bool) (source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return source{}, err
	}
	src := source{dirName: tilde(abs, home), json: filepath.Join(abs, ".claude.json")}
	src.jsonName = tilde(src.json, home)
	src.dir, err = resolveDir(abs)
	if errors.Is(err, fs.ErrNotExist) && !must {
		return src, nil
	}
	if err != nil {
		return source{}, err
	}
	return src.legacyJSON(home), nil
}

// homeDir is ~/.claude with ~/.claude.json beside it; either may be missing.
func homeDir(home string) (source, error) {
	src := source{dirName: "~/.claude", json: filepath.Join(home, ".claude.json"), jsonName: "~/.claude.json"}
	dir, err := resolveDir(filepath.Join(home, ".claude"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return src, nil
	case err != nil:
		return source{}, err
	}
	src.dir = dir
	return src.legacyJSON(home), nil
}

// legacyJSON: Claude Code reads <config dir>/.config.json instead of the
// .claude.json when that file exists (a legacy name; seen in the
// reconstructed source of its config module, getGlobalClaudeFile — not in
// its docs).
func (s source) legacyJSON(home string) source {
	if legacy := filepath.Join(s.dir, ".config.json"); exists(legacy) {
		s.json, s.jsonName = legacy, s.dirName+"/.config.json"
	}
	return s
}

// resolveDir resolves the directory's symlinks once (a ~/.claude that is a
// link into a dotfiles checkout is common): the tree whose files travel is
// the resolved one, and no symlink may lead out of it.
func resolveDir(dir string) (string, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return resolved, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// tilde writes a path under home as ~/…, the way people name it (and the
// same in every test run).
func tilde(path, home string) string {
	home = strings.TrimSuffix(home, "/")
	switch {
	case home == "":
		return path
	case path == home:
		return "~"
	case strings.HasPrefix(path, home+"/"):
		return "~" + path[len(home):]
	}
	return path
}

package launch

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/provision"
)

// The host files a launch carries are checked at prepare, before any
// command runs: each must be a regular file (opened non-blocking, so a FIFO
// cannot hang the launch, a dry-run included) within its cap. The archive
// checks them again when it reads them (provision.ReadHostFile).

// checkPrompt checks --prompt. The prompt becomes one argument of claude in
// the guest, so it is capped below one argv string's limit there
// (provision.MaxPromptSize) rather than failing with "Argument list too
// long" once the bottle is built.
func checkPrompt(path string) error {
	err := provision.CheckHostFile(path, provision.MaxPromptSize)
	var big *provision.TooLargeError
	switch {
	case errors.As(err, &big):
		return badInput("invalid --prompt: %v: it becomes one argument of claude in the guest, "+
			"and one argument is at most 128 KiB; put a longer task in a file of --cwd and point the prompt at it", err)
	case err != nil:
		return badInput("invalid --prompt: %v", err)
	}
	return nil
}

// checkCredential checks the key file of one --git-credential (flag is the
// flag as given, NAME=PATH).
func checkCredential(flag, path string) error {
	if err := provision.CheckHostFile(path, provision.MaxCredentialSize); err != nil {
		return badInput("invalid --git-credential %q: %v", flag, err)
	}
	return nil
}

func checkKnownHosts(path string) error {
	if err := provision.CheckHostFile(path, provision.MaxKnownHostsSize); err != nil {
		return badInput("invalid --known-hosts: %v", err)
	}
	return nil
}

// resolveSkills checks each --skill and resolves its symlinks once: the
// archive copies the resolved directory (a symlink copied as it is would
// arrive dangling in the guest). The guest name is the base name the user
// gave — a link skills/review -> review-v2 lands as skills/review — and two
// skills may not share one.
func resolveSkills(dirs []string) ([]provision.Skill, error) {
	var skills []provision.Skill
	names := map[string]string{}
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, badInput("invalid --skill %s: %v", dir, err)
		}
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, badInput("invalid --skill: %v", err)
		}
		fi, err := os.Stat(resolved)
		if err != nil {
			return nil, badInput("invalid --skill: %v", err)
		}
		if !fi.IsDir() {
			return nil, badInput("invalid --skill %s: not a directory", dir)
		}
		name := filepath.Base(abs)
		if name == string(filepath.Separator) {
			return nil, badInput("invalid --skill %s: the root directory has no name to give the skill", dir)
		}
		if prev, dup := names[name]; dup {
			return nil, badInput("invalid --skill %s: same name %q as %s", dir, name, prev)
		}
		names[name] = dir
		skills = append(skills, provision.Skill{Name: name, Dir: resolved})
	}
	return skills, nil
}

package provision

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
)

// Inputs are what provisioning takes from the host, known before launch.
type Inputs struct {
	Repo      *Repo   // host .git the workspace is checked out of (nil without --cwd)
	Prompt    string  // host prompt file ("" without --prompt)
	Skills    []Skill // host skill directories
	Supervise bool
	// Claude is the user's own Claude Code setup (claudecfg.Read), placed
	// in the same archive.
	Claude ClaudeSetup
}

// ClaudeSetup is the user's Claude Code setup as provisioning places it:
// files under ~/.claude and the generated ~/.claude.json, owned by node,
// and what was left out of it. Notes say what was left out and why;
// Warnings are what the user would miss (a dropped secret, an MCP server
// that cannot work from a bottle). Both are logged and shown in the
// dry-run; neither ever holds a dropped value.
type ClaudeSetup struct {
	Files           []File
	Notes, Warnings []string
}

// noteLines are the setup's notes as the archive's dry-run comments, worded
// as they are logged. Without files (no setup, or --claude-config none)
// the archive holds nothing of it to comment on: the log says why.
func (c ClaudeSetup) noteLines() []string {
	if len(c.Files) == 0 {
		return nil
	}
	var out []string
	for _, n := range c.Notes {
		out = append(out, "claude setup: "+n)
	}
	for _, w := range c.Warnings {
		out = append(out, "claude setup: warning: "+w)
	}
	return out
}

// log logs the setup's notes (info) and warnings.
func (c ClaudeSetup) log(log logrus.FieldLogger) {
	for _, n := range c.Notes {
		log.Infof("claude setup: %s", n)
	}
	for _, w := range c.Warnings {
		log.Warnf("claude setup: %s", w)
	}
}

// Skill is one --skill: the host directory, its symlinks resolved at
// prepare (Dir), and the name it gets in the guest (the base name the user
// gave, also when that is a symlink to a directory of another name).
type Skill struct {
	Name string
	Dir  string
}

// Live are the values that exist only once the bundle runs.
type Live struct {
	CA           []byte // PEM certificate fetched from the bundle
	CAKind       string // CAPipelock or CAEgress
	GateHost     string // git://git-gate or git://127.0.0.1:PORT ("" without upstreams)
	Upstreams    []Upstream
	SuperviseURL string // http://HOST:PORT/, without the secret
	// Secret is the bottle's, which the gate's and supervise's URLs carry
	// (bundle/secret.go); it is never shown.
	Secret string
}

// Files lists everything placed in the guest, in archive order: the CA, the
// gitconfig, the prompt, the user's Claude setup, the skills, the
// workspace's .git and the working tree's changes. The setup comes before the skills: a --skill lands on
// top of it (claudecfg leaves out a skill of the same name).
func Files(in Inputs, live Live) []File {
	files := []File{{Path: CAPath(live.CAKind), Owner: Root, Mode: 0o644, Content: live.CA}}
	if len(live.Upstreams) > 0 {
		files = append(files, gitconfigFile(live))
	}
	if in.Supervise {
		files = append(files, superviseURLFile(live))
	}
	if in.Prompt != "" {
		files = append(files, File{Path: PromptPath, Owner: Agent, Mode: 0o600, Source: in.Prompt, Max: MaxPromptSize})
	}
	files = append(files, in.Claude.Files...)
	if len(in.Skills) > 0 {
		files = appendDirs(files, Home+"/.claude", SkillsDir)
		for _, s := range in.Skills {
			files = append(files, File{Path: SkillsDir + "/" + s.Name, Owner: Agent,
				Source: s.Dir, Tree: true, List: true})
		}
	}
	if in.Repo != nil {
		files = append(files,
			File{Path: Workspace, Owner: Agent, Mode: 0o755, Dir: true},
			File{Path: Workspace + "/.git", Owner: Agent, Mode: 0o755, Source: in.Repo.Dir, Git: in.Repo,
				Content: RenderRepoConfig(*in.Repo, live.Upstreams), Show: true})
		if in.Repo.Worktree != nil {
			files = append(files, File{Path: Workspace, Owner: Agent, Worktree: in.Repo.Worktree})
		}
	}
	return files
}

// appendDirs adds node-owned directory entries for dirs that files do not
// already hold (the user's setup may have placed them, with its modes).
func appendDirs(files []File, dirs ...string) []File {
	have := map[string]bool{}
	for _, f := range files {
		if f.Dir {
			have[f.Path] = true
		}
	}
	for _, d := range dirs {
		if !have[d] {
			files = append(files, File{Path: d, Owner: Agent, Mode: 0o755, Dir: true})
		}
	}
	return files
}

// Together runs steps that do not depend on each other, at once or one
// after the other in their order, and returns the first failure. nil runs
// them one after the other.
type Together func(ctx context.Context, steps ...func(context.Context) error) error

func inOrder(ctx context.Context, steps ...func(context.Context) error) error {
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run provisions the guest in a fixed number of commands, however many
// files: one archive in, then at once (through together) the root exec
// that trusts the CA and, when asked for, the workspace checkout and the
// supervise registration as the agent user: none of them touches what
// the others do.
func Run(ctx context.Context, g Guest, log logrus.FieldLogger, in Inputs, live Live, together Together) error {
	files := Files(in, live)
	in.Claude.log(log)
	if err := g.CopyIn(ctx, Archive(files), append(Notes(files), in.Claude.noteLines()...)); err != nil {
		return fmt.Errorf("copy files into the guest: %w", err)
	}
	steps := []func(context.Context) error{func(ctx context.Context) error {
		if err := g.Exec(ctx, Root, TrustArgv(live.CAKind), nil); err != nil {
			return fmt.Errorf("trust the %s CA: %w", live.CAKind, err)
		}
		return nil
	}}
	if in.Repo != nil {
		// The archive brought .git and the host's changes; check the rest
		// of the working tree out of it.
		in.Repo.Worktree.log(log)
		steps = append(steps, func(ctx context.Context) error {
			if err := g.Exec(ctx, Agent, checkoutArgv(in.Repo), nil); err != nil {
				return fmt.Errorf("check out the workspace: %w", err)
			}
			return nil
		})
	}
	if in.Supervise {
		steps = append(steps, func(ctx context.Context) error { registerSupervise(ctx, g, log); return nil })
	}
	if together == nil {
		together = inOrder
	}
	return together(ctx, steps...)
}

// registerSupervise adds the supervise MCP server to the agent's user
// config. A failure is logged and the launch goes on: the agent works
// without supervise, it only cannot ask for more.
func registerSupervise(ctx context.Context, g Guest, log logrus.FieldLogger) {
	var out bytes.Buffer
	if err := g.Exec(ctx, Agent, registerArgv(), &out); err != nil {
		log.Warnf("supervise: registering the MCP server failed, the agent runs without it: %v", err)
	}
}

// AgentCommand is the agent's argv: claude with the user's arguments and,
// with a prompt, the prompt file's content as the last argument (read in the
// guest, so the prompt never appears in any argv on the host).
func AgentCommand(args []string, prompt bool) []string {
	if !prompt {
		return append([]string{"claude"}, args...)
	}
	script := `exec claude "$@" "$(cat ` + PromptPath + `)"`
	return append([]string{"sh", "-c", script, "claude"}, args...)
}

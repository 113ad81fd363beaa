package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/cliargs"
	"github.com/claude-bottle/claude-bottle/launch"
)

// completionCommand prints a shell's completion script. The bash and zsh
// scripts ask claude-bottle itself for the words that fit (urfave/cli's
// hidden --generate-bash-completion: the commands, or the flags of the
// command typed so far) and fall back to file names; fish's is generated
// whole from the commands and flags (cli.App.ToFishCompletion).
func completionCommand(app *cli.App) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  source <(claude-bottle completion bash)   (e.g. in ~/.bashrc)\n" +
			"zsh:   source <(claude-bottle completion zsh)    (after compinit, in ~/.zshrc)\n" +
			"fish:  claude-bottle completion fish > ~/.config/fish/completions/claude-bottle.fish",
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			pos, err := cliargs.Positional(c, "SHELL")
			if err != nil {
				return err
			}
			var script string
			switch pos[0] {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				if script, err = app.ToFishCompletion(); err != nil {
					return fmt.Errorf("completion fish: %w", err)
				}
			default:
				return &launch.InputError{Msg: fmt.Sprintf("completion: unknown shell %q: want bash, zsh or fish", pos[0])}
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// bashCompletion asks claude-bottle, with the words typed before the cursor
// (and the one under it when it starts a flag), for the candidates.
const bashCompletion = `# claude-bottle completion for bash: source <(claude-bottle completion bash)
_claude_bottle_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local -a req=("${COMP_WORDS[@]:0:COMP_CWORD}")
	[[ $cur == -* ]] && req+=("$cur")
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$("${req[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F _claude_bottle_complete claude-bottle
`

// zshCompletion is the same question from zsh.
const zshCompletion = `#compdef claude-bottle
# claude-bottle completion for zsh: source <(claude-bottle completion zsh)
_claude_bottle_complete() {
	local -a req opts
	req=("${(@)words[1,CURRENT-1]}")
	[[ ${words[CURRENT]} == -* ]] && req+=("${words[CURRENT]}")
	opts=("${(@f)$("${req[@]}" --generate-bash-completion 2>/dev/null)}")
	if [[ -n ${opts[1]} ]]; then
		compadd -a opts
	else
		_files
	fi
}
compdef _claude_bottle_complete claude-bottle
`

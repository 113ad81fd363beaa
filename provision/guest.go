package provision

import (
	"context"
	"io"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Guest is where the agent runs: a docker container or a smolvm machine.
type Guest interface {
	// CopyIn extracts a tar archive (entries relative to "/") in the guest,
	// keeping the owners and modes of its headers. note lists its content
	// for the dry-run.
	CopyIn(ctx context.Context, archive io.Reader, note []string) error
	// Exec runs argv as user in the workspace, sending its stdout to out (may be nil).
	Exec(ctx context.Context, as User, argv []string, out io.Writer) error
	// Attach runs argv as the agent user with claude-bottle's own terminal
	// or streams; tty allocates a terminal in the guest.
	Attach(ctx context.Context, argv []string, tty bool) error
}

// cmdGuest is a Guest reached through two argv builders: one that takes a
// tar archive on stdin, one that runs a command in the guest.
type cmdGuest struct {
	r      shell.Runner
	copyIn []string
	exec   func(as User, stdin, tty bool, argv []string) []string
}

func (g cmdGuest) CopyIn(ctx context.Context, archive io.Reader, note []string) error {
	return g.r.Run(ctx, shell.Cmd{Argv: g.copyIn, Stdin: archive, Note: note})
}

func (g cmdGuest) Exec(ctx context.Context, as User, argv []string, out io.Writer) error {
	return g.r.Run(ctx, shell.Cmd{Argv: g.exec(as, false, false, argv), Stdout: out})
}

func (g cmdGuest) Attach(ctx context.Context, argv []string, tty bool) error {
	return g.r.Run(ctx, shell.Cmd{Argv: g.exec(Agent, true, tty, argv), Attached: true})
}

// DockerGuest is an agent container, reached with docker cp / docker exec.
func DockerGuest(r shell.Runner, container string) Guest {
	return cmdGuest{
		r: r,
		// "-": a tar stream on stdin; without -a, owners come from the headers.
		copyIn: []string{"docker", "cp", "-", container + ":/"},
		exec: func(as User, stdin, tty bool, argv []string) []string {
			a := append([]string{"docker", "exec"}, ioFlags(stdin, tty)...)
			if as == Root {
				a = append(a, "-u", "0") // root steps; no -w: the workspace may not exist yet
			} else {
				a = append(a, "-u", as.Name, "-w", Workspace)
			}
			return append(append(a, container), argv...)
		},
	}
}

// SmolvmGuest is a smolvm machine, reached with smolvm machine exec.
//
// smolvm 1.9.x has no --user on exec: commands run as the image's USER. The
// agent image therefore sets no USER (root), root steps run as they are, and
// agent-user steps run through `runuser -u node --`, on every smolvm version.
// Files travel as one tar stream over `exec -i` (machine cp copies single
// files only and lands them root-owned).
func SmolvmGuest(r shell.Runner, machine string) Guest {
	return cmdGuest{
		r: r,
		copyIn: []string{"smolvm", "machine", "exec", "--name", machine,
			"-i", // forward stdin: the archive
			"--", "tar", "--extract", "--file=-", "--directory=/",
			"--preserve-permissions", "--same-owner", "--numeric-owner"},
		exec: func(as User, stdin, tty bool, argv []string) []string {
			a := append([]string{"smolvm", "machine", "exec", "--name", machine}, ioFlags(stdin, tty)...) // exec has no -n
			if as == Root {
				return append(append(a, "--"), argv...)
			}
			a = append(a, "-w", Workspace, "--", "runuser", "-u", as.Name, "--")
			return append(a, argv...)
		},
	}
}

// ioFlags are exec's -i (stdin) and -t (terminal), spelled alike by docker and smolvm.
func ioFlags(stdin, tty bool) []string {
	var f []string
	if stdin {
		f = append(f, "-i")
	}
	if tty {
		f = append(f, "-t")
	}
	return f
}

// ExecGuest is a guest reached through one exec argv builder (kubectl exec
// for a Pod: exec(stdin, tty, argv) runs argv as the container's user,
// root). kubectl exec has neither --user nor --workdir: agent-user steps
// run through `runuser -u node --` and `env --chdir` (coreutils), as on
// smolvm; files travel as one tar stream over exec -i.
func ExecGuest(r shell.Runner, exec func(stdin, tty bool, argv []string) []string) Guest {
	return cmdGuest{
		r:      r,
		copyIn: exec(true, false, []string{"tar", "--extract", "--file=-", "--directory=/", "--preserve-permissions", "--same-owner", "--numeric-owner"}),
		exec: func(as User, stdin, tty bool, argv []string) []string {
			if as == Root {
				return exec(stdin, tty, argv)
			}
			return exec(stdin, tty, append([]string{"runuser", "-u", as.Name, "--", "env", "--chdir=" + Workspace}, argv...))
		},
	}
}

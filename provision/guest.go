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

// DockerGuest is an agent container, reached with docker cp / docker exec.
type DockerGuest struct {
	R         shell.Runner
	Container string
}

var _ Guest = DockerGuest{}

func (g DockerGuest) CopyIn(ctx context.Context, archive io.Reader, note []string) error {
	return g.R.Run(ctx, shell.Cmd{
		// "-": a tar stream on stdin; without -a, owners come from the headers.
		Argv:  []string{"docker", "cp", "-", g.Container + ":/"},
		Stdin: archive, Note: note,
	})
}

func (g DockerGuest) Exec(ctx context.Context, as User, argv []string, out io.Writer) error {
	return g.R.Run(ctx, shell.Cmd{Argv: g.exec(as, false, false, argv), Stdout: out})
}

func (g DockerGuest) Attach(ctx context.Context, argv []string, tty bool) error {
	return g.R.Run(ctx, shell.Cmd{Argv: g.exec(Agent, true, tty, argv), Attached: true})
}

func (g DockerGuest) exec(as User, stdin, tty bool, argv []string) []string {
	a := []string{"docker", "exec"}
	if stdin {
		a = append(a, "-i")
	}
	if tty {
		a = append(a, "-t")
	}
	if as == Root {
		a = append(a, "-u", "0") // root steps; no -w: the workspace may not exist yet
	} else {
		a = append(a, "-u", as.Name, "-w", Workspace)
	}
	a = append(a, g.Container)
	return append(a, argv...)
}

// SmolvmGuest is a smolvm machine, reached with smolvm machine exec.
//
// smolvm 1.9.x has no --user on exec: commands run as the image's USER. The
// agent image therefore sets no USER (root), root steps run as they are, and
// agent-user steps run through `runuser -u node --`, on every smolvm version.
// Files travel as one tar stream over `exec -i` (machine cp copies single
// files only and lands them root-owned).
type SmolvmGuest struct {
	R       shell.Runner
	Machine string
}

var _ Guest = SmolvmGuest{}

func (g SmolvmGuest) CopyIn(ctx context.Context, archive io.Reader, note []string) error {
	return g.R.Run(ctx, shell.Cmd{
		Argv: []string{"smolvm", "machine", "exec", "--name", g.Machine,
			"-i", // forward stdin: the archive
			"--", "tar", "--extract", "--file=-", "--directory=/",
			"--preserve-permissions", "--same-owner", "--numeric-owner"},
		Stdin: archive, Note: note,
	})
}

func (g SmolvmGuest) Exec(ctx context.Context, as User, argv []string, out io.Writer) error {
	return g.R.Run(ctx, shell.Cmd{Argv: g.exec(as, false, false, argv), Stdout: out})
}

func (g SmolvmGuest) Attach(ctx context.Context, argv []string, tty bool) error {
	return g.R.Run(ctx, shell.Cmd{Argv: g.exec(Agent, true, tty, argv), Attached: true})
}

func (g SmolvmGuest) exec(as User, stdin, tty bool, argv []string) []string {
	a := []string{"smolvm", "machine", "exec", "--name", g.Machine} // exec has no -n
	if stdin {
		a = append(a, "-i")
	}
	if tty {
		a = append(a, "-t")
	}
	if as == Root {
		return append(append(a, "--"), argv...)
	}
	a = append(a, "-w", Workspace, "--", "runuser", "-u", as.Name, "--")
	return append(a, argv...)
}

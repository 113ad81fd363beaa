package job

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/claude-bottle/claude-bottle/shell"
)

// hostRepo is the host repository a fetch writes to. Every command is a
// `git -C DIR …` through the runner, and none reads anything of the
// guest's but object ids, ref names that passed trackingName, and the pack
// (which index-pack checks).
type hostRepo struct {
	r   shell.Runner
	dir string
}

func (h hostRepo) git(args ...string) []string {
	return append([]string{"git", "-C", h.dir}, args...)
}

// maxHaves bounds how many of the host's branch tips are offered to the
// guest as commits it need not send.
const maxHaves = 32

// refs returns the bottle's tracking refs (full name -> object id) and the
// tips of the host's most recent branches.
func (h hostRepo) refs(ctx context.Context, prefix string) (map[string]string, []string, error) {
	out, err := shell.Output(ctx, h.r, h.git("for-each-ref", "--sort=-committerdate",
		"--format=%(objectname) %(refname)", prefix, "refs/heads/")...)
	if err != nil {
		return nil, nil, fmt.Errorf("read the host repository's refs: %w", err)
	}
	tracked := map[string]string{}
	var heads []string
	for _, l := range strings.Split(out, "\n") {
		oid, ref, ok := strings.Cut(l, " ")
		switch {
		case !ok:
		case strings.HasPrefix(ref, prefix):
			tracked[ref] = oid
		case len(heads) < maxHaves:
			heads = append(heads, oid)
		}
	}
	return tracked, heads, nil
}

// checkCommits fails unless every one of oids is a commit in the host
// repository. what says what they are, for the error and the dry-run.
func (h hostRepo) checkCommits(ctx context.Context, oids []string, what string) error {
	var out strings.Builder
	err := h.r.Run(ctx, shell.Cmd{
		Argv:   h.git("cat-file", "--batch-check=%(objectname) %(objecttype)"),
		Stdin:  strings.NewReader(strings.Join(oids, "\n") + "\n"),
		Stdout: &out,
		Note:   []string{"stdin: " + what + ", one object id a line"},
	})
	if err != nil {
		return fmt.Errorf("check %s: %w", what, err)
	}
	got := strings.Fields(out.String())
	var bad []string
	for i, oid := range oids {
		if 2*i+1 >= len(got) || got[2*i] != oid || got[2*i+1] != "commit" {
			bad = append(bad, oid)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: not commits the host repository has: %s", what, strings.Join(bad, ", "))
	}
	return nil
}

// indexPack adds the guest's pack to the host repository's objects, with
// every object checked (--strict: fsck, and each link must resolve in the
// pack or the repository). A thin pack is completed from the repository.
//
// Not `git fetch BUNDLE`: git (2.39 at least) does not fsck what arrives
// from a bundle even with fetch.fsckObjects; it also runs auto-maintenance,
// may recurse into submodules and reads the remote.* and fetch.* config.
func (h hostRepo) indexPack(ctx context.Context, pack io.Reader, note string) error {
	err := h.r.Run(ctx, shell.Cmd{
		Argv:  h.git("index-pack", "--stdin", "--fix-thin", "--strict"),
		Stdin: pack,
		Note:  []string{"stdin: " + note},
	})
	if err != nil {
		return fmt.Errorf("check and store the guest's objects: %w", err)
	}
	return nil
}

// updateRefs applies ups in one transaction (git update-ref --stdin), each
// checked against the value read before, so that a concurrent change of
// the same ref fails the whole fetch rather than being overwritten.
func (h hostRepo) updateRefs(ctx context.Context, bottle string, ups []Update, note string) error {
	var in strings.Builder
	for _, u := range ups {
		switch {
		case u.Old == "":
			fmt.Fprintf(&in, "create %s %s\n", u.Ref, u.New)
		case u.New == "":
			fmt.Fprintf(&in, "delete %s %s\n", u.Ref, u.Old)
		default:
			fmt.Fprintf(&in, "update %s %s %s\n", u.Ref, u.New, u.Old)
		}
	}
	if note == "" {
		note = strings.TrimSuffix(in.String(), "\n")
	}
	err := h.r.Run(ctx, shell.Cmd{
		Argv:  h.git("update-ref", "-m", "claude-bottle fetch "+bottle, "--stdin"),
		Stdin: strings.NewReader(in.String()),
		Note:  strings.Split("stdin:\n"+note, "\n"),
	})
	if err != nil {
		return fmt.Errorf("update the bottle's refs: %w", err)
	}
	return nil
}

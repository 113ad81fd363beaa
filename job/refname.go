package job

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Where the guest's refs land in the host repository.
const (
	// SnapshotRef is the guest-side name of the uncommitted snapshot in the
	// bundle (a name of claude-bottle's own: no guest branch can take it).
	SnapshotRef = "refs/claude-bottle/uncommitted"
	// snapshotBranch is the snapshot's name under the bottle's prefix.
	snapshotBranch = "uncommitted"
	maxRefName     = 1024
)

// TrackingPrefix is the host namespace of bottle's refs:
// refs/remotes/bottle/NAME/, so that `git log bottle/NAME/main` works.
func TrackingPrefix(bottle string) string { return "refs/remotes/bottle/" + bottle + "/" }

// trackingName maps a ref of the guest's bundle to its short name under
// TrackingPrefix: refs/heads/B is B, SnapshotRef is "uncommitted". Any
// other ref, and any name git or a person could misread, is refused with
// the reason.
func trackingName(ref string) (string, error) {
	if ref == SnapshotRef {
		return snapshotBranch, nil
	}
	if err := checkRefName(ref); err != nil {
		return "", err
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", fmt.Errorf("not a branch (only refs/heads/* are fetched)")
	}
	first, _, _ := strings.Cut(branch, "/")
	switch {
	case first == snapshotBranch:
		return "", fmt.Errorf("the name %q is the snapshot's", snapshotBranch)
	case branch == "HEAD":
		// refs/remotes/bottle/NAME/HEAD is what `bottle/NAME` alone resolves to.
		return "", fmt.Errorf("a branch named HEAD")
	}
	return branch, nil
}

// checkRefName applies git's check-ref-format rules to a full ref name
// (git-check-ref-format(1), without --allow-onelevel or
// --refspec-pattern), and refuses besides what is not valid UTF-8 or is
// not printable (unicode.IsPrint: no format characters such as bidi
// overrides or zero-width spaces, which git accepts and which would make a
// name in `git branch -r` look like another).
func checkRefName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > maxRefName:
		return fmt.Errorf("longer than %d bytes", maxRefName)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	case !strings.Contains(s, "/"):
		return fmt.Errorf("one level only")
	case s == "@" || strings.Contains(s, "@{"):
		return fmt.Errorf("contains @{ or is @")
	case strings.Contains(s, ".."):
		return fmt.Errorf("contains ..")
	case strings.HasSuffix(s, "."), strings.HasSuffix(s, "/"):
		return fmt.Errorf("ends with . or /")
	}
	if i := strings.IndexFunc(s, badRefRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("contains %q", r)
	}
	for _, c := range strings.Split(s, "/") {
		switch {
		case c == "":
			return fmt.Errorf("an empty component (//)")
		case strings.HasPrefix(c, "."):
			return fmt.Errorf("a component starts with .")
		case strings.HasSuffix(c, ".lock"):
			return fmt.Errorf("a component ends with .lock")
		}
	}
	return nil
}

// badRefRune: what git forbids in a ref name (control characters, space,
// ~ ^ : ? * [ \ and DEL) and what is not printable.
func badRefRune(r rune) bool {
	return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) || !unicode.IsPrint(r)
}

// conflicts reports whether two ref names cannot both exist (one is a
// directory of the other: a and a/b).
func conflicts(a, b string) bool {
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

package job

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// refPlan is what a fetch does to the bottle's tracking refs.
type refPlan struct {
	updates []Update // created or moved
	deletes []Update // removed: the snapshot the guest no longer has, and with prune the branches
	kept    []string // tracking refs the guest no longer has, left in place
	skipped []Skipped
}

// planRefs decides, from the refs the guest's bundle names and the
// bottle's tracking refs on the host, which refs to set and which to
// remove. A refused name is skipped (the rest of the work still comes
// home), as is a second ref of the same name or one that cannot live
// next to another (a and a/b).
func planRefs(refs []Ref, tracked map[string]string, prefix string, prune bool) refPlan {
	var p refPlan
	want := map[string]string{} // full host ref -> object id
	var order []string
	for _, ref := range refs {
		short, err := trackingName(ref.Name)
		if err != nil {
			p.skipped = append(p.skipped, Skipped{Name: ref.Name, Reason: err.Error()})
			continue
		}
		full := prefix + short
		if other, ok := conflictIn(full, order, want); ok {
			p.skipped = append(p.skipped, Skipped{Name: ref.Name, Reason: "the bundle also names " + strings.TrimPrefix(other, prefix)})
			continue
		}
		want[full] = ref.OID
		order = append(order, full)
	}
	for _, full := range sortedKeys(tracked) {
		if _, ok := want[full]; ok {
			continue
		}
		if prune || full == prefix+snapshotBranch {
			p.deletes = append(p.deletes, Update{Ref: full, Old: tracked[full]})
		} else {
			p.kept = append(p.kept, full)
		}
	}
	for _, full := range order {
		if kept, ok := conflictsWithAny(full, p.kept); ok {
			p.skipped = append(p.skipped, Skipped{Name: guestName(full, prefix),
				Reason: "it cannot sit next to " + shortRef(kept) + ", which the guest no longer has (--prune removes it)"})
			continue
		}
		if old := tracked[full]; old != want[full] {
			p.updates = append(p.updates, Update{Ref: full, Old: old, New: want[full]})
		}
	}
	return p
}

// apply sets the refs: one transaction, or two when a removal frees the
// place of a new ref (git refuses a and a/b in one transaction).
func (p refPlan) apply(ctx context.Context, h hostRepo, bottle string) error {
	for _, d := range p.deletes {
		if _, ok := conflictsWithAny(d.Ref, refsOf(p.updates)); ok {
			if err := h.updateRefs(ctx, bottle, p.deletes, ""); err != nil {
				return err
			}
			return h.updateRefs(ctx, bottle, p.updates, "")
		}
	}
	return h.updateRefs(ctx, bottle, append(append([]Update(nil), p.deletes...), p.updates...), "")
}

// conflictIn finds a name among order (a key of want) that is name or a
// directory of it, or has it as a directory.
func conflictIn(name string, order []string, want map[string]string) (string, bool) {
	if _, dup := want[name]; dup {
		return name, true
	}
	return conflictsWithAny(name, order)
}

func conflictsWithAny(name string, others []string) (string, bool) {
	for _, o := range others {
		if conflicts(name, o) {
			return o, true
		}
	}
	return "", false
}

func refsOf(ups []Update) []string {
	var out []string
	for _, u := range ups {
		out = append(out, u.Ref)
	}
	return out
}

// guestName is the guest's name for a tracking ref.
func guestName(full, prefix string) string {
	short := strings.TrimPrefix(full, prefix)
	if short == snapshotBranch {
		return SnapshotRef
	}
	return "refs/heads/" + short
}

// shortRef is a ref as git shows it: bottle/NAME/B.
func shortRef(full string) string { return strings.TrimPrefix(full, "refs/remotes/") }

// ShortRef is Update's ref as `git log` takes it (bottle/NAME/B).
func (u Update) ShortRef() string { return shortRef(u.Ref) }

// String is one line of fetch's report.
func (u Update) String() string {
	switch {
	case u.Old == "":
		return fmt.Sprintf("new      %s %s", u.ShortRef(), abbrev(u.New))
	case u.New == "":
		return fmt.Sprintf("removed  %s (was %s)", u.ShortRef(), abbrev(u.Old))
	}
	return fmt.Sprintf("updated  %s %s..%s", u.ShortRef(), abbrev(u.Old), abbrev(u.New))
}

func abbrev(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

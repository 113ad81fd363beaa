package job

import "github.com/claude-bottle/claude-bottle/provision"

// guestScript runs in the guest as the agent user: `sh -c guestScript
// claude-bottle-fetch WORKSPACE COMMIT...`. It writes a git bundle
// (gitformat-bundle(5)) to stdout: every refs/heads/* of the workspace, and
// when the work tree differs from HEAD (or HEAD is detached off every
// branch) a snapshot commit of it under refs/claude-bottle/uncommitted,
// whose parent is HEAD. The COMMITs are what the host already has: those
// the guest has too become the bundle's prerequisites, and only objects
// beyond them travel.
//
// The snapshot is made in a temporary index (a copy of the guest's, so
// unchanged files are not hashed again): the guest's index, work tree and
// refs are left as they are. The header is written here rather than by
// `git bundle create`, which needs a ref for the snapshot and refuses a
// bundle with nothing new. The snapshot carries HEAD's date, so that the
// same uncommitted work is the same commit at every fetch ("nothing new").
// The refs are listed once, so that the header and the pack name the same
// commits while the agent works on.
//
// Nothing the script prints is trusted: the host parses and checks it all.
// The fsmonitor and hooks of the guest's config are turned off only so that
// they cannot break the snapshot; the guest could replace git anyway.
// Exit status 3: no workspace, or no repository in it.
const guestScript = `set -eu
cd "$1" 2>/dev/null || { echo "claude-bottle: no workspace at $1" >&2; exit 3; }
shift
g() { git -c core.fsmonitor=false -c core.hooksPath=/dev/null "$@"; }
info=$(g rev-parse --show-object-format --git-path index 2>/dev/null) ||
  { echo "claude-bottle: no git repository in $PWD" >&2; exit 3; }
{ read -r format; read -r index; } <<EOF
$info
EOF
list=$(g for-each-ref --format="%(if)%(HEAD)%(then)*%(else)-%(end) %(objectname) %(tree) %(committerdate:raw) %(refname)" refs/heads/)
refs= revs= head= base= date="@0 +0000"
while read -r mark oid tree ts tz ref; do
  [ -n "$oid" ] || continue
  refs="$refs$oid $ref
"
  revs="$revs$oid
"
  [ "$mark" != "*" ] || { head=$oid base=$tree date="@$ts $tz"; }
done <<EOF
$list
EOF
have=
if [ $# -gt 0 ]; then
  while read -r type oid; do
    [ "$type" != commit ] || have="$have $oid"
  done <<EOF
$(printf "%s\n" "$@" | g cat-file --batch-check="%(objecttype) %(objectname)")
EOF
fi
detached=
if [ -z "$head" ] && read -r head base ts tz <<EOF
$(g log -1 --date=raw --format="%H %T %cd" 2>/dev/null)
EOF
then
  [ -n "$head" ] && date="@$ts $tz" && detached=yes
fi
tmp=/tmp/claude-bottle-fetch-index.$$
cleanup() { rm -f "$tmp" "$tmp.lock"; }
trap cleanup EXIT
if [ -f "$index" ]; then cp "$index" "$tmp"; else rm -f "$tmp"; fi
GIT_INDEX_FILE=$tmp g add -A
tree=$(GIT_INDEX_FILE=$tmp g write-tree)
snapshot() {
  printf "uncommitted changes (claude-bottle fetch)\n" |
    GIT_AUTHOR_NAME=claude-bottle GIT_AUTHOR_EMAIL=claude-bottle@localhost GIT_AUTHOR_DATE="$date" \
    GIT_COMMITTER_NAME=claude-bottle GIT_COMMITTER_EMAIL=claude-bottle@localhost GIT_COMMITTER_DATE="$date" \
    g commit-tree "$@" "$tree"
}
snap=
if [ -z "$head" ]; then
  [ "$tree" = 4b825dc642cb6eb9a060e54bf8d69288fbee4904 ] ||
    [ "$tree" = 6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321 ] || snap=$(snapshot)
elif [ "$tree" != "$base" ] || { [ -n "$detached" ] && [ -z "$(g for-each-ref --count=1 --contains "$head" refs/heads/)" ]; }; then
  snap=$(snapshot -p "$head")
fi
if [ "$format" = sha1 ]; then
  printf "# v2 git bundle\n"
else
  printf "# v3 git bundle\n@object-format=%s\n" "$format"
fi
for c in $have; do printf -- "-%s\n" "$c"; done
printf "%s" "$refs"
[ -z "$snap" ] || printf "%s refs/claude-bottle/uncommitted\n" "$snap"
printf "\n"
{
  printf "%s" "$revs"
  [ -z "$snap" ] || printf "%s\n" "$snap"
  for c in $have; do printf "^%s\n" "$c"; done
} | g pack-objects --stdout --revs --thin --delta-base-offset -q
`

// exitNoRepository is guestScript's exit status when the workspace holds no repository.
const exitNoRepository = 3

// guestArgv is the guest's side of a fetch: guestScript on the workspace,
// given the commits the host has.
func guestArgv(have []string) []string {
	return append([]string{"sh", "-c", guestScript, "claude-bottle-fetch", provision.Workspace}, have...)
}

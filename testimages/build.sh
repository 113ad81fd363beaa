#!/usr/bin/env bash
# Builds the test images on a machine without any image registry (see
# README.md beside this file). Idempotent and cached: each image carries the
# label claude-bottle.test-image, a hash of its inputs (including the IDs of
# the images it is built on); an image whose label matches is not rebuilt.
# No image gets claude-bottle.name: images built from these would inherit it
# and look like a bottle's resources.
#
#   testimages/build.sh [--force] [--clean]
#     --force   rebuild every image
#     --clean   remove the test images (named claude-bottle-test/… and
#               labelled claude-bottle.test-image) and exit
#
# Environment: SUITE (bookworm), DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR
# (default: the ones apt uses on this machine, else deb.debian.org).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

SUITE=${SUITE:-bookworm}
PREFIX=claude-bottle-test
DEBIAN_IMAGE=$PREFIX/debian:$SUITE
NODE_IMAGE=$PREFIX/node:$SUITE
STANDIN_IMAGE=$PREFIX/pipelock-standin:latest
BUNDLE_IMAGE=$PREFIX/bundle:latest
STAGE_AGENT_IMAGE=$PREFIX/stage/agent:latest # the agent image as `images build` makes it
AGENT_IMAGE=$PREFIX/agent:latest             # plus the stand-in claude
HASH_LABEL=claude-bottle.test-image
# Bump when a recipe below changes in a way its hashed inputs do not show.
RECIPE=1

force=false
case "${1:-}" in
--force) force=true ;;
--clean)
	# This script's images: named under $PREFIX/ and labelled. An image built
	# FROM one of them inherits the label, not the name, and is kept. Removed
	# by name, without -f: docker deletes an image once its last name is gone
	# and nothing is built on it or runs it (then its untagged parents too).
	ours() { docker image ls --filter "label=$HASH_LABEL" --format '{{.Repository}}:{{.Tag}}' | grep "^$PREFIX/" || true; }
	for ref in $(ours); do
		docker image rm "$ref" >/dev/null || true
	done
	if [ -n "$(ours)" ]; then
		echo "some test images are still in use:" >&2
		ours >&2
		exit 1
	fi
	echo "removed the test images"
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [--force|--clean]" >&2
	exit 2
	;;
esac

log() { printf '%s build.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

work=$(mktemp -d /var/tmp/claude-bottle-testimages.XXXXXX)
cleanup() {
	# debootstrap may leave /proc, /sys mounted in the rootfs when it fails.
	if [ -d "$work/rootfs" ]; then
		findmnt -rn -o TARGET | grep "^$work/rootfs" | sort -r | xargs -r umount -l 2>/dev/null || true
	fi
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

sha() { sha256sum | cut -c1-32; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }
# cached IMAGE HASH: the image exists and carries the hash.
cached() {
	! $force && [ "$(docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null)" = "$2" ]
}
# hash_files FILE...: one hash of the names and contents.
hash_files() {
	local f
	for f in "$@"; do
		printf '%s\n' "${f#"$repo"/}"
		cat "$f"
	done | sha
}
timed() {
	local start=$SECONDS
	"$@"
	log "  took $((SECONDS - start))s"
}

# The mirrors apt uses here (deb822 .sources, then sources.list), unless given.
apt_uris() {
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}'
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '/^deb / {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
	} | sed 's#/*$##'
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(apt_uris | grep -E '/debian$' | head -n1 || true)}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep -E '/debian-security$' | head -n1 || true)}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# ---- a. the Debian base: debootstrap + docker import.
build_debian() {
	local root=$work/rootfs
	if ! command -v debootstrap >/dev/null; then
		[ "$(id -u)" = 0 ] || die "debootstrap is missing; install it (apt-get install debootstrap) or run as root"
		log "installing debootstrap"
		apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 ||
			{ apt-get update >/dev/null && apt-get install -y --no-install-recommends debootstrap >/dev/null; } ||
			die "cannot install debootstrap"
	fi
	[ "$(id -u)" = 0 ] || die "debootstrap needs root"
	log "debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR"
	debootstrap --variant=minbase --components=main "$SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$work/debootstrap.log" >&2
			die "debootstrap failed"
		}
	cat >"$root/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $SUITE main
deb $DEBIAN_MIRROR $SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $SUITE-security main
EOF
	# What docker provides at run time, and caches.
	rm -rf "${root:?}"/dev/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
		"$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/etc/resolv.conf \
		"$root"/etc/hostname "$root"/debootstrap
	log "docker import $DEBIAN_IMAGE"
	tar --numeric-owner -C "$root" -cf - . |
		docker import \
			-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			-c 'CMD ["bash"]' \
			-c "LABEL $HASH_LABEL=$1" \
			-m "debootstrap --variant=minbase $SUITE $DEBIAN_MIRROR" \
			- "$DEBIAN_IMAGE" >/dev/null
	rm -rf --one-file-system "$root"
}

# ---- b. the node base: Debian's nodejs and the user node.
build_node() {
	log "docker build $NODE_IMAGE"
	docker build --force-rm -q -t "$NODE_IMAGE" --build-arg "BASE=$DEBIAN_IMAGE" \
		--label "$HASH_LABEL=$1" - <"$here/node/Dockerfile" >/dev/null
}

# ---- c. the pipelock stand-in (static Go binary in a scratch image).
build_standin() {
	local ctx=$work/standin
	mkdir -p "$ctx"
	log "go build pipelock-standin; docker build $STANDIN_IMAGE"
	(cd "$here/pipelock-standin" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/pipelock" .)
	cp "$here/pipelock-standin/Dockerfile" "$ctx/Dockerfile"
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt" 2>/dev/null || : >"$ctx/ca-certificates.crt"
	docker build --force-rm -q -t "$STANDIN_IMAGE" --label "$HASH_LABEL=$1" "$ctx" >/dev/null
}

# ---- d. bundle and agent with `claude-bottle images build`.
claude_bottle=
images_build() {
	if [ -z "$claude_bottle" ]; then
		claude_bottle=$work/claude-bottle
		log "go build claude-bottle (CGO_ENABLED=0)"
		(cd "$repo" && CGO_ENABLED=0 go build -o "$claude_bottle" .)
	fi
	local cmd=("$claude_bottle" images)
	if ! "$claude_bottle" images build --help >/dev/null 2>&1; then
		# The CLI does not wire `images` yet: the same command, on its own.
		(cd "$repo" && go build -o "$work/imagesbuild" ./testimages/imagesbuild)
		cmd=("$work/imagesbuild")
	fi
	log "${cmd[*]##*/} build $*"
	"${cmd[@]}" build --binary "$claude_bottle" \
		--bundle-base "$DEBIAN_IMAGE" --agent-base "$NODE_IMAGE" \
		--pipelock-image "$STANDIN_IMAGE" --claude-code-version none \
		"$@" >/dev/null 2>"$work/images-build.log" ||
		{
			tail -n 40 "$work/images-build.log" >&2
			die "images build failed"
		}
}
build_bundle() { images_build --only bundle --tag-prefix "$PREFIX" --label "$HASH_LABEL=$1"; }
build_stage_agent() { images_build --only agent --tag-prefix "$PREFIX/stage" --label "$HASH_LABEL=$1"; }

# ---- the test agent: the stand-in claude on top.
build_agent() {
	local ctx=$work/agent
	mkdir -p "$ctx"
	cp "$here/agent/Dockerfile" "$here/agent/claude" "$ctx/"
	chmod 0644 "$ctx/Dockerfile"
	chmod 0755 "$ctx/claude"
	log "docker build $AGENT_IMAGE"
	docker build --force-rm -q -t "$AGENT_IMAGE" --build-arg "BASE=$STAGE_AGENT_IMAGE" \
		--label "$HASH_LABEL=$1" "$ctx" >/dev/null
}

# step IMAGE HASH FUNC: build IMAGE with FUNC HASH unless cached.
step() {
	local old
	if cached "$1" "$2"; then
		log "$1: cached"
	else
		old=$(image_id "$1" 2>/dev/null || true)
		log "$1: building"
		timed "$3" "$2"
		[ -z "$old" ] || drop_untagged "$old"
	fi
}

# drop_untagged ID: remove the image a rebuild took the name from, unless it
# still has a name (then it is someone's). Not by label: images built from
# ours inherit it. Without -f: an image in use or built on stays; docker
# removes it with the last image built on it.
drop_untagged() {
	[ -n "$(docker image inspect -f '{{join .RepoTags " "}}' "$1" 2>/dev/null)" ] ||
		docker image rm "$1" >/dev/null 2>&1 || true
}

total=$SECONDS
goversion=$(go env GOVERSION)

h=$(printf 'debian %s %s %s %s\n' "$RECIPE" "$SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SECURITY_MIRROR" | sha)
step "$DEBIAN_IMAGE" "$h" build_debian

h=$( (image_id "$DEBIAN_IMAGE" && hash_files "$here/node/Dockerfile") | sha)
step "$NODE_IMAGE" "$h" build_node

mapfile -t standin_src < <(find "$here/pipelock-standin" -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name Dockerfile \) | sort)
h=$( (echo "$RECIPE $goversion" && hash_files "${standin_src[@]}" /etc/ssl/certs/ca-certificates.crt) | sha)
step "$STANDIN_IMAGE" "$h" build_standin

# The bundle holds the claude-bottle binary: every non-test Go source counts.
mapfile -t go_src < <(cd "$repo" && find . -path ./testimages -prune -o -path ./.git -prune -o -type f \
	\( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum -o -name Dockerfile \) -print |
	sed "s#^\./#$repo/#" | sort)
h=$( (echo "$RECIPE $goversion" && image_id "$DEBIAN_IMAGE" && image_id "$STANDIN_IMAGE" && hash_files "${go_src[@]}") | sha)
step "$BUNDLE_IMAGE" "$h" build_bundle

h=$( (echo "$RECIPE" && image_id "$NODE_IMAGE" && hash_files "$repo/images/agent/Dockerfile" "$repo"/images/*.go) | sha)
step "$STAGE_AGENT_IMAGE" "$h" build_stage_agent

h=$( (image_id "$STAGE_AGENT_IMAGE" && hash_files "$here/agent/Dockerfile" "$here/agent/claude") | sha)
step "$AGENT_IMAGE" "$h" build_agent

log "done in $((SECONDS - total))s: $DEBIAN_IMAGE $NODE_IMAGE $STANDIN_IMAGE $BUNDLE_IMAGE $AGENT_IMAGE"

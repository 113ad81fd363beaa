#!/usr/bin/env bash
# import.sh IMAGE...: copies images from the local Docker Engine into the
# test cluster's containerd (namespace k8s.io, where kubelet's pods find
# them): `docker save IMAGE... | ctr images import -`. There is no registry:
# pods name these images with imagePullPolicy IfNotPresent or Never.
# An image docker names claude-bottle-test/x:y is docker.io/claude-bottle-test/x:y
# in containerd, which is what a pod's `image: claude-bottle-test/x:y` means.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"
[ "$#" -gt 0 ] || {
	echo "usage: $0 IMAGE..." >&2
	exit 2
}
if ! pid_of containerd >/dev/null || ! ctr_ version >/dev/null 2>&1; then
	die "the test cluster's containerd is not running (testcluster/up.sh)"
fi
missing=
for i in "$@"; do
	docker image inspect "$i" >/dev/null 2>&1 || missing="$missing $i"
done
[ -z "$missing" ] || die "not in docker:$missing (testimages/build.sh and \`make e2e\`'s docker build lines make the test images)"

t0=$(date +%s.%N)
snapshotter=$(recorded snapshotter | tail -n 1)
docker save "$@" | ctr_ images import --snapshotter "${snapshotter:-overlayfs}" - >/dev/null ||
	die "docker save $* | ctr images import failed"
for i in "$@"; do
	# The reference containerd gives the image (docker's normalization).
	first=${i%%/*}
	case $i in
	*/*) case $first in *.* | *:* | localhost) ref=$i ;; *) ref=docker.io/$i ;; esac ;;
	*) ref=docker.io/library/$i ;;
	esac
	case ${ref##*/} in *:* | *@*) ;; *) ref=$ref:latest ;; esac
	ctr_ images list -q | grep -qxF "$ref" || die "$ref is not in containerd after the import"
done
awk -v s="$t0" -v e="$(date +%s.%N)" -v n="$#" \
	'BEGIN { printf "testcluster/import: %d image(s) in %.1f s\n", n, e - s }' >&2

#!/usr/bin/env bash
# smoke.sh proves the test cluster is real. In a namespace of its own
# (labelled claude-bottle.test=smoke, deleted at the end) it runs two
# busybox httpd servers ("server" and "other") and a client, then checks:
#   1. the client reaches the server (pod to pod, through kubectl exec);
#   2. the client reaches the API server at its advertised address
#      ($API_IP:$API_PORT) and through the kubernetes Service ($SERVICE_API_IP:443);
#   3. after a NetworkPolicy lets the client send only to "other": the
#      client still reaches "other", but no longer the server nor the API
#      server (the policy is enforced, not just stored), while the server,
#      which no policy selects, still reaches the API server.
# Exit 1 on any failure.
#
# The image, claude-bottle-test/k8s-smoke:busybox, is Debian's static
# busybox (busybox-static) alone, imported into the cluster's containerd.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$KUBECONFIG_FILE" ] || die "no cluster: $KUBECONFIG_FILE is missing (testcluster/up.sh)"
BIN=$(recorded bin | tail -n 1)
[ -x "$BIN/kubectl" ] || die "no kubectl in the record of $STATE"
k() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
t0=$(date +%s.%N)

# ---- the image.
IMAGE=claude-bottle-test/k8s-smoke:busybox
if ! ctr_ images list -q | grep -qxF "docker.io/$IMAGE"; then
	bb=/bin/busybox
	# Missing, or the dynamically linked one of package busybox (ldd fails
	# on a static binary).
	if ! [ -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
		log "apt-get install busybox-static"
		apt-get install -y --no-install-recommends busybox-static >/dev/null 2>&1 ||
			{ apt-get update >/dev/null && apt-get install -y --no-install-recommends busybox-static >/dev/null; } ||
			die "cannot install busybox-static"
	fi
	! ldd "$bb" >/dev/null 2>&1 || die "$bb is not statically linked"
	root=$(mktemp -d "${TMPDIR:-/tmp}/cbk8s-smoke-root.XXXXXX")
	mkdir -p "$root/bin" "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	oci_image "docker.io/$IMAGE" "$root" "$root.tar" '{"Env":["PATH=/bin"],"Cmd":["sh"]}'
	ctr_ images import --snapshotter "$(recorded snapshotter | tail -n 1)" "$root.tar" >/dev/null
	rm -rf "$root" "$root.tar"
	log "imported $IMAGE"
fi

# ---- the namespace and its pods.
NS=cbk8s-smoke-$(date +%s)
cleanup() {
	local rc=$?
	k delete namespace "$NS" --wait=true --timeout=90s >/dev/null 2>&1 ||
		{ log "namespace $NS not deleted"; rc=1; }
	[ "$rc" = 0 ] || log "FAILED"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pod() { # NAME COMMAND
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $NS
  labels: {app: $1, claude-bottle.test: smoke}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
  - name: main
    image: $IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "$2"]
EOF
}
# shellcheck disable=SC2016 # expanded in the pod
server='mkdir -p /www && echo smoke-$(hostname) >/www/index.html && exec httpd -f -p 8080 -h /www'
{
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels: {claude-bottle.test: smoke}
EOF
	pod server "$server"
	cat <<'EOF'
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
EOF
	pod other "$server"
	cat <<'EOF'
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
EOF
	pod client 'exec sleep 3600'
} | k apply -f - >/dev/null
k wait -n "$NS" --for=condition=Ready pod --all --timeout=120s >/dev/null ||
	{
		k get pods -n "$NS" -o wide >&2
		k describe pods -n "$NS" | tail -n 30 >&2
		die "pods not Ready"
	}
ip_of() { k get pod -n "$NS" "$1" -o 'jsonpath={.status.podIP}'; }
SERVER=$(ip_of server)
OTHER=$(ip_of other)
log "pods Ready: server $SERVER, other $OTHER, client $(ip_of client)"

# get POD HOST PORT: what POD reads back from HOST:PORT for an HTTP/1.0
# GET (busybox nc, 3 s to connect; busybox wget crashes here). The API
# server, an HTTPS one, answers "Client sent an HTTP request to an HTTPS server."
get() { k exec -n "$NS" "$1" -- sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $2 $3" 2>/dev/null; }
# expect_ok POD HOST PORT WANT [TRIES]: POD reads a reply holding WANT.
expect_ok() {
	local i=0 body
	while :; do
		body=$(get "$1" "$2" "$3") || body=
		if grep -qF "$4" <<<"$body"; then
			log "ok: $1 reaches $2:$3"
			return 0
		fi
		i=$((i + 1))
		[ "$i" -lt "${5:-10}" ] || die "$1 cannot reach $2:$3 (got '$(head -c 200 <<<"$body")', want '$4')"
		sleep 1
	done
}
# expect_blocked POD HOST PORT: POD cannot connect to HOST:PORT, within 30
# tries and then three times in a row.
expect_blocked() {
	local i=0 n=0
	while [ "$n" -lt 3 ]; do
		if get "$1" "$2" "$3" | grep -q .; then
			n=0
			i=$((i + 1))
			[ "$i" -lt 30 ] || die "$1 still reaches $2:$3 under the NetworkPolicy"
			sleep 1
		else
			n=$((n + 1))
		fi
	done
	log "ok: $1 is blocked from $2:$3"
}
HTTPS_REPLY="HTTP request to an HTTPS server"

# ---- without a policy.
expect_ok client "$SERVER" 8080 smoke-server
expect_ok client "$OTHER" 8080 smoke-other
expect_ok client "$API_IP" "$API_PORT" "$HTTPS_REPLY"
expect_ok client "$SERVICE_API_IP" 443 "$HTTPS_REPLY"

# ---- the client may send only to "other".
k apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: client-to-other-only
  namespace: $NS
  labels: {claude-bottle.test: smoke}
spec:
  podSelector:
    matchLabels: {app: client}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector:
        matchLabels: {app: other}
EOF
expect_blocked client "$SERVER" 8080
expect_blocked client "$API_IP" "$API_PORT"
expect_blocked client "$SERVICE_API_IP" 443
expect_ok client "$OTHER" 8080 smoke-other 3
expect_ok server "$API_IP" "$API_PORT" "$HTTPS_REPLY" 3

awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "testcluster/smoke: ok (%.1f s)\n", e - s }' >&2

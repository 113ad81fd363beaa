# lib.sh: names, addresses and helpers shared by up.sh, down.sh, import.sh
# and smoke.sh (sourced, not run). Every name the test cluster gives a
# thing on the host is here, so that down.sh finds what up.sh made even
# when up.sh stopped half-way.
# shellcheck shell=bash disable=SC2034 # used by the scripts that source it

STATE=${CLAUDE_BOTTLE_K8S_STATE:-/var/lib/claude-bottle-k8s}
case $STATE in
/*/*) ;;
*)
	echo "testcluster: CLAUDE_BOTTLE_K8S_STATE must be an absolute path below / (got '$STATE')" >&2
	exit 2
	;;
esac
STATE=${STATE%/}

NODE_NAME=claude-bottle-test-node
CONTEXT=claude-bottle-test
KUBECONFIG_FILE=$STATE/kubeconfig

# The API server's advertised address is one of our own, on a dummy
# interface, so that pods reach it through the host's INPUT chain like any
# other address off the pod network (and a NetworkPolicy can cut them off).
API_IF=cbk8s-api
API_IP=10.245.0.1
API_PORT=6443
API_URL=https://$API_IP:$API_PORT

BRIDGE=cbk8s0
POD_CIDR=10.244.0.0/24
POD_GW=10.244.0.1
SERVICE_CIDR=10.96.0.0/24
SERVICE_API_IP=10.96.0.1 # the first address: the kubernetes Service
CNI_NETWORK=claude-bottle-k8s
ETCD_CLIENT=127.0.0.1:12379
ETCD_PEER=127.0.0.1:12380
CGROUP_NAME=claude-bottle-k8s
# The comment on the iptables rules up.sh itself adds.
RULE_COMMENT=claude-bottle-k8s
PAUSE_IMAGE=docker.io/claude-bottle-test/pause:3.10.2

RUN=$STATE/run
CONTAINERD_SOCK=$RUN/containerd.sock
PIDS=$STATE/pids
LOGS=$STATE/logs
RECORD=$STATE/record
# containerd 1.6 puts every shim's socket in /run/containerd/s, a
# compile-time constant (runtime/v2/shim/util_unix.go, socketRoot =
# defaults.DefaultStateDir): named sha256(<containerd address>/<namespace>/<id>).
SHIM_SOCKET_DIR=/run/containerd/s

# Directories the cluster may create outside $STATE (down.sh removes those
# up.sh found missing, once empty of what the cluster put there).
OUTSIDE_DIRS="/run/containerd /var/lib/cni /var/log/containers /var/lib/kubelet /usr/libexec/kubernetes /run/mount"

# Sysctls kubelet and kube-proxy may set, recorded before and restored after
# (kubelet's defaults: kernel.panic=10, kernel.panic_on_oops=1,
# vm.overcommit_memory=1, vm.panic_on_oom=0, kernel.keys.root_max*).
SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max
net.netfilter.nf_conntrack_tcp_timeout_established
net.netfilter.nf_conntrack_tcp_timeout_close_wait net.ipv6.conf.all.forwarding"

_tc_prog=testcluster/$(basename "$0" .sh)
log() { printf '%s %s: %s\n' "$(date -u +%T)" "$_tc_prog" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# record KEY VALUE: note a host change for down.sh.
record() {
	mkdir -p "$STATE"
	printf '%s %s\n' "$1" "$2" >>"$RECORD"
}
# recorded KEY: the values recorded under KEY, one a line.
recorded() {
	[ -f "$RECORD" ] || return 0
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print }' "$RECORD"
}

# pid_of NAME: the PID up.sh recorded for NAME, if that process still runs
# the program it started (a PID can be reused).
pid_of() {
	local f=$PIDS/$1.pid pid exe
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	exe=$(cat "$PIDS/$1.exe" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] || return 1
	echo "$pid"
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.2 s.
wait_for() {
	local limit=$1 what=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((limit * 5)) ] || return 1
		sleep 0.2
	done
	log "$what ($(awk "BEGIN { printf \"%.1f\", $i / 5 }") s)"
}

ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# oci_image NAME ROOTFS OUT CONFIG_JSON: an OCI image layout archive of one
# uncompressed layer (ROOTFS's files, owned by root, mtime 0), for
# `ctr images import`: no registry and no docker needed. CONFIG_JSON is the
# image's runtime config, e.g. {"Entrypoint":["/pause"]}.
oci_image() {
	local name=$1 rootfs=$2 out=$3 config=$4 d layer cfg man sum size
	d=$(mktemp -d "${TMPDIR:-/tmp}/cbk8s-oci.XXXXXX")
	mkdir -p "$d/blobs/sha256"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$d/layer.tar" .
	layer=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	mv "$d/layer.tar" "$d/blobs/sha256/$layer"
	jq -cn --argjson c "$config" --arg l "sha256:$layer" \
		'{architecture: "amd64", os: "linux", config: $c, rootfs: {type: "layers", diff_ids: [$l]}}' >"$d/cfg"
	cfg=$(sha256sum "$d/cfg" | cut -d' ' -f1)
	size=$(stat -c %s "$d/cfg")
	mv "$d/cfg" "$d/blobs/sha256/$cfg"
	jq -cn --arg c "sha256:$cfg" --argjson cs "$size" --arg l "sha256:$layer" \
		--argjson ls "$(stat -c %s "$d/blobs/sha256/$layer")" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$d/man"
	man=$(sha256sum "$d/man" | cut -d' ' -f1)
	size=$(stat -c %s "$d/man")
	mv "$d/man" "$d/blobs/sha256/$man"
	jq -cn --arg m "sha256:$man" --argjson s "$size" --arg n "$name" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		  digest: $m, size: $s, platform: {architecture: "amd64", os: "linux"},
		  annotations: {"io.containerd.image.name": $n, "org.opencontainers.image.ref.name": ($n | sub(".*:"; ""))}}]}' >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
	sum=$?
	rm -rf "$d"
	return $sum
}

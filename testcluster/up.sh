#!/usr/bin/env bash
# up.sh brings up a one-node Kubernetes test cluster on this machine, as
# root: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
# containerd of its own, kubelet, kube-proxy (iptables mode) and kube-router
# (its NetworkPolicy firewall only). It waits for the node to be Ready and
# prints `export KUBECONFIG=...`.
#
#   testcluster/up.sh        # refuses when a cluster (or a failed one's state) is there
#   testcluster/down.sh      # removes everything up.sh made
#
# Environment: CLAUDE_BOTTLE_K8S_STATE (/var/lib/claude-bottle-k8s) holds
# certificates, configurations, logs, PIDs, the kubeconfig and the record of
# every host change (for down.sh). K8S_BIN: a directory of the binaries
# (default: the one testcluster/build.sh prints, building them if needed).
#
# For tests only: etcd without fsync over plain HTTP on loopback, one CA
# for everything, client certificates in system:masters, and kube-router
# v2.1.0, for which the Go module index reports security flaws.
#
# No CoreDNS: the product resolves nothing in pods (it gives them
# hostAliases), so the cluster has no DNS and kubelet no clusterDNS.
#
# Facts about this machine (../shared/reference/kubernetes-here.md): no
# CAP_SYS_RESOURCE anywhere, so runc cannot lower a process's oom_score_adj
# (the runc wrapper below raises negative ones to 0); cgroup v1 (kubelet:
# failCgroupV1 false, cgroupfs); docker's FORWARD policy is DROP.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"

# ---- refuse when a cluster is up, or when a failed one left things behind.
if [ -e "$RECORD" ] || [ -d "$STATE" ]; then
	echo "testcluster/up: $STATE exists: a cluster is up (or a failed one left its state); run testcluster/down.sh first" >&2
	exit 3
fi
for l in "$API_IF" "$BRIDGE"; do
	if ip link show "$l" >/dev/null 2>&1; then
		echo "testcluster/up: interface $l exists: a test cluster is up (maybe with another state dir); run testcluster/down.sh" >&2
		exit 3
	fi
done
if grep -qE '^:(KUBE-|CNI-)' <<<"$(iptables-save 2>/dev/null)"; then
	echo "testcluster/up: iptables already holds KUBE-*/CNI-* chains (another cluster, or one not torn down); run testcluster/down.sh" >&2
	exit 3
fi

# ---- packages.
need=
for p in jq:jq ipset:ipset conntrack:conntrack openssl:openssl gcc:gcc iptables:iptables; do
	command -v "${p%%:*}" >/dev/null || need="$need ${p#*:}"
done
[ -x /usr/lib/cni/bridge ] || need="$need containernetworking-plugins"
command -v containerd >/dev/null || need="$need containerd"
command -v runc >/dev/null || need="$need runc"
if [ -n "$need" ]; then
	log "apt-get install$need"
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -y --no-install-recommends $need >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends $need >/dev/null; } ||
		die "cannot install$need"
fi
RUNC=$(command -v runc)
CNI_BIN=/usr/lib/cni

BIN=${K8S_BIN:-$("$here/build.sh")}
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router kubectl; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing (testcluster/build.sh builds it)"
done
KUBECTL=$BIN/kubectl

start_time=$(date +%s.%N)
mkdir -p "$STATE" "$PIDS" "$LOGS" "$RUN" "$STATE/pki" "$STATE/bin"
chmod 700 "$STATE"
record bin "$BIN"

# On failure: keep the logs elsewhere, print the last lines, undo everything.
on_exit() {
	local rc=$?
	[ "$rc" = 0 ] && return
	trap - EXIT
	if [ -n "$(ls -A "$LOGS" 2>/dev/null)" ]; then
		keep=$(mktemp -d /tmp/claude-bottle-k8s-logs.XXXXXX)
		cp -r "$LOGS/." "$keep/" 2>/dev/null || true
		if [ -n "$culprit" ] && [ -s "$keep/$culprit.log" ]; then
			echo "---- last lines of $culprit.log" >&2
			tail -n 15 "$keep/$culprit.log" >&2
		fi
		log "up failed (exit $rc); the logs are kept in $keep; tearing down"
	fi
	"$here/down.sh" || log "down.sh failed too"
	exit "$rc"
}
culprit=
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- what the host looks like before (down.sh puts it back).
for k in $SYSCTLS; do
	v=$(sysctl -n "$k" 2>/dev/null) || continue
	record sysctl "$k=$v"
done
sysctl -a 2>/dev/null >"$STATE/sysctl-before.txt" || true
ipset list -n 2>/dev/null | sort >"$STATE/ipsets-before.txt" || true
# Paths the cluster makes outside $STATE (for down.sh, when they were not
# there): containerd's shim sockets (/run/containerd/s), CNI's result cache
# (/var/lib/cni), kubelet's log links (/var/log/containers) and device
# plugin socket (/var/lib/kubelet/device-plugins, not configurable),
# libmount's /run/mount.
for d in $OUTSIDE_DIRS; do
	[ -e "$d" ] || record created-dir "$d"
done
nft list tables 2>/dev/null >"$STATE/nft-tables-before.txt" || true

# start NAME BINARY ARGS...: run a daemon in a session of its own, its
# output in $LOGS/NAME.log, its PID and program in $PIDS.
start() {
	local name=$1
	shift
	readlink -f "$1" >"$PIDS/$name.exe"
	setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$PIDS/$name.pid"
}
# up NAME SECONDS WHAT COMMAND...: wait for COMMAND while NAME runs (a
# failure shows the tail of NAME's log).
up() {
	local name=$1 limit=$2 what=$3 t
	culprit=$name
	shift 3
	t=$(date +%s.%N)
	while ! "$@" >/dev/null 2>&1; do
		pid_of "$name" >/dev/null || die "$name exited (log: $LOGS/$name.log)"
		awk -v t="$t" -v n="$(date +%s.%N)" -v l="$limit" 'BEGIN { exit !(n - t < l) }' ||
			die "$what: not after ${limit}s (log: $LOGS/$name.log)"
		sleep 0.2
	done
	log "$what ($(awk -v t="$t" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - t }') s)"
	culprit=
}

# ---- the API server's address: a dummy interface of ours.
# (No dummy driver in some kernels: then an empty bridge, which holds an
# address as well.)
ip link add "$API_IF" type dummy 2>/dev/null || ip link add "$API_IF" type bridge
record link "$API_IF"
ip addr add "$API_IP/32" dev "$API_IF"
ip link set "$API_IF" up

# ---- certificates (openssl; ECDSA P-256, 30 days).
pki=$STATE/pki
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=claude-bottle-test-ca" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
# cert NAME SUBJECT USAGE [SANS]
cert() {
	local ext=$pki/$1.ext
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$3"
		[ -z "${4:-}" ] || echo "subjectAltName=$4"
	} >"$ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
		-out "$pki/$1.csr" -subj "$2" 2>/dev/null
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -days 30 \
		-set_serial "0x$(openssl rand -hex 16)" -extfile "$ext" -out "$pki/$1.crt" 2>/dev/null
	rm -f "$pki/$1.csr" "$ext"
}
cert apiserver "/CN=kube-apiserver" serverAuth \
	"IP:$API_IP,IP:$SERVICE_API_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=claude-bottle-test-admin" clientAuth
cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kube-router "/CN=claude-bottle-test:kube-router" clientAuth
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
cert kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:$API_IP,DNS:$NODE_NAME"
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
chmod 600 "$pki"/*.key

# kubeconfig FILE CERT: a kubeconfig of context $CONTEXT for pki/CERT.
kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CONTEXT
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $CONTEXT-$2
  user:
    client-certificate-data: $(base64 -w0 "$pki/$2.crt")
    client-key-data: $(base64 -w0 "$pki/$2.key")
contexts:
- name: $CONTEXT
  context:
    cluster: $CONTEXT
    user: $CONTEXT-$2
current-context: $CONTEXT
EOF
	chmod 600 "$1"
}
kc=$STATE/kubeconfigs
mkdir -p "$kc"
kubeconfig "$KUBECONFIG_FILE" admin
for c in kube-controller-manager kube-scheduler kube-proxy kube-router kubelet-client; do
	kubeconfig "$kc/$c" "$c"
done
k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# ---- etcd: one member, loopback only, plain HTTP, no fsync (a test cluster).
start etcd "$BIN/etcd" --name "$CONTEXT" --data-dir "$STATE/etcd" \
	--listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
	--listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
	--initial-cluster "$CONTEXT=http://$ETCD_PEER" --initial-cluster-state new \
	--unsafe-no-fsync --log-level warn
up etcd 30 "etcd healthy" curl -fsS "http://$ETCD_CLIENT/health"

# ---- kube-apiserver on our address only.
start kube-apiserver "$BIN/kube-apiserver" \
	--etcd-servers "http://$ETCD_CLIENT" \
	--bind-address "$API_IP" --advertise-address "$API_IP" --secure-port "$API_PORT" \
	--service-cluster-ip-range "$SERVICE_CIDR" \
	--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
	--allow-privileged=true \
	--client-ca-file "$pki/ca.crt" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
	--kubelet-client-key "$pki/apiserver-kubelet-client.key" \
	--kubelet-preferred-address-types InternalIP \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--cert-dir "$STATE/apiserver" --profiling=false
up kube-apiserver 90 "kube-apiserver ready at $API_URL" \
	curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$API_URL/readyz"

# ---- controller manager (node CIDR 10.244.0.0/24 from --cluster-cidr) and scheduler.
start kube-controller-manager "$BIN/kube-controller-manager" \
	--kubeconfig "$kc/kube-controller-manager" \
	--authentication-kubeconfig "$kc/kube-controller-manager" \
	--authorization-kubeconfig "$kc/kube-controller-manager" --authentication-skip-lookup \
	--bind-address 127.0.0.1 --leader-elect=false --cluster-name "$CONTEXT" \
	--allocate-node-cidrs --cluster-cidr "$POD_CIDR" --node-cidr-mask-size "${POD_CIDR#*/}" \
	--service-cluster-ip-range "$SERVICE_CIDR" \
	--root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
	--use-service-account-credentials \
	--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
	--flex-volume-plugin-dir "$STATE/kubelet-plugins/volume/exec" \
	--cert-dir "$STATE/kube-controller-manager" --profiling=false
start kube-scheduler "$BIN/kube-scheduler" \
	--kubeconfig "$kc/kube-scheduler" \
	--authentication-kubeconfig "$kc/kube-scheduler" \
	--authorization-kubeconfig "$kc/kube-scheduler" --authentication-skip-lookup \
	--bind-address 127.0.0.1 --leader-elect=false \
	--cert-dir "$STATE/kube-scheduler" --profiling=false

# kube-router's rights: the ClusterRole of kube-router v2.1.0's
# daemonset/generic-kuberouter.yaml, bound to its certificate's user.
k apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: claude-bottle-test:kube-router
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, nodes, endpoints]
  verbs: [list, get, watch]
- apiGroups: [networking.k8s.io, extensions]
  resources: [networkpolicies]
  verbs: [list, get, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
- apiGroups: [""]
  resources: [services/status]
  verbs: [update]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: claude-bottle-test:kube-router
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: claude-bottle-test:kube-router
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: claude-bottle-test:kube-router
EOF

# ---- the pause image: k8s' build/pause/linux/pause.c, gcc -static, as
# build/pause/Dockerfile packs it (/pause, USER 65535:65535).
pause_c=$(go env GOMODCACHE 2>/dev/null)/k8s.io/kubernetes@v${K8S_VERSION:-1.37.2}/build/pause/linux/pause.c
if [ ! -f "$pause_c" ]; then
	(cd "$STATE" && GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@v${K8S_VERSION:-1.37.2}") >/dev/null 2>&1 || true
fi
[ -f "$pause_c" ] || die "no $pause_c (go mod download k8s.io/kubernetes@v${K8S_VERSION:-1.37.2})"
img=$STATE/images
mkdir -p "$img/pause-root"
gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_IMAGE##*:}-claude-bottle" -o "$img/pause-root/pause" "$pause_c"
oci_image "$PAUSE_IMAGE" "$img/pause-root" "$img/pause.tar" '{"Entrypoint":["/pause"],"User":"65535:65535"}'

# ---- containerd of our own: root, state, socket and config in $STATE.
# The runc wrapper: no CAP_SYS_RESOURCE here, so runc fails to set a
# negative process.oomScoreAdj (the pause container's -998, a Guaranteed
# pod's -997): raise it to 0, then run runc. For `create`/`run` the
# bundle's config.json, for `exec` the --process file.
cat >"$STATE/bin/runc" <<EOF
#!/bin/sh
# claude-bottle test cluster: raise a negative oomScoreAdj to 0, run $RUNC.
bundle=. process= cmd= prev=
for a in "\$@"; do
	case \$prev in
	--bundle | -b) bundle=\$a ;;
	--process | -p) process=\$a ;;
	esac
	case \$a in
	--bundle=*) bundle=\${a#--bundle=} ;;
	--process=*) process=\${a#--process=} ;;
	create | run | exec) [ -n "\$cmd" ] || cmd=\$a ;;
	esac
	prev=\$a
done
fix() { # FILE JQ_PATH
	if [ -f "\$1" ] && /usr/bin/jq -e "(\$2 // 0) < 0" "\$1" >/dev/null 2>&1; then
		/usr/bin/jq -c "\$2 = 0" "\$1" >"\$1.cbk8s" && mv "\$1.cbk8s" "\$1"
	fi
}
case \$cmd in
create | run) fix "\$bundle/config.json" .process.oomScoreAdj ;;
exec) [ -z "\$process" ] || fix "\$process" .oomScoreAdj ;;
esac
exec $RUNC "\$@"
EOF
chmod 755 "$STATE/bin/runc"

# The CNI configuration: a bridge of ours, host-local addresses, no
# masquerading (pods reach the host, its containers and each other).
mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam"
cat >"$STATE/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF
record link "$BRIDGE"

# overlayfs if the kernel mounts it on $STATE's filesystem, else native.
snapshotter=native
o=$(mktemp -d "$STATE/.overlay-probe.XXXXXX")
mkdir "$o/l" "$o/u" "$o/w" "$o/m"
if mount -t overlay overlay -o "lowerdir=$o/l,upperdir=$o/u,workdir=$o/w" "$o/m" 2>/dev/null; then
	umount "$o/m"
	snapshotter=overlayfs
fi
rm -rf "$o"
record snapshotter "$snapshotter"

cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd"
state = "$RUN/containerd"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snapshotter"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$STATE/bin/runc"
        Root = "$RUN/runc"
        SystemdCgroup = false
EOF

# kubelet's cgroup root, /claude-bottle-k8s in every hierarchy (cgroup v1:
# kubepods and the pods go below it; cpuset needs its cpus and mems).
for h in /sys/fs/cgroup/*/; do
	h=${h%/}
	[ -f "$h/cgroup.procs" ] || continue
	mkdir -p "$h/$CGROUP_NAME"
	record cgroup "$h/$CGROUP_NAME"
	if [ -f "$h/cpuset.cpus" ]; then
		cat "$h/cpuset.cpus" >"$h/$CGROUP_NAME/cpuset.cpus"
		cat "$h/cpuset.mems" >"$h/$CGROUP_NAME/cpuset.mems"
	fi
done

start containerd "$(command -v containerd)" --config "$STATE/containerd.toml"
up containerd 30 "containerd up ($snapshotter)" ctr_ version
ctr_ images import --snapshotter "$snapshotter" "$img/pause.tar" >/dev/null
ctr_ images label "$PAUSE_IMAGE" io.cri-containerd.pinned=pinned >/dev/null 2>&1 || true

# ---- kubelet.
mkdir -p "$STATE/kubelet" "$STATE/pod-logs"
cat >"$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $API_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_NAME
failCgroupV1: false
podLogsDir: $STATE/pod-logs
volumePluginDir: $STATE/kubelet-plugins/volume/exec
oomScoreAdj: 0
rotateCertificates: false
serializeImagePulls: false
resolvConf: /etc/resolv.conf
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start kubelet "$BIN/kubelet" --config "$STATE/kubelet.yaml" --kubeconfig "$kc/kubelet-client" \
	--root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$API_IP" --v 1
node_ready() {
	[ "$(k get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
up kubelet 120 "node $NODE_NAME Ready" node_ready
ready_time=$(date +%s.%N)

# ---- kube-proxy, iptables mode (IPVS is not in this kernel); it leaves
# conntrack's sysctls and route_localnet alone.
cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $kc/kube-proxy
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $API_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$API_IP/32"]
iptables:
  localhostNodePorts: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
up kube-proxy 60 "kube-proxy: the kubernetes Service in iptables" \
	sh -c "iptables -w -t nat -S KUBE-SERVICES | grep -q 'default/kubernetes:https'"

# ---- kube-router, the NetworkPolicy firewall only (iptables + ipset).
# Test cluster only: the Go module index reports security flaws in v2.1.0.
start kube-router "$BIN/kube-router" --kubeconfig "$kc/kube-router" \
	--run-firewall=true --run-router=false --run-service-proxy=false \
	--enable-cni=false --enable-pod-egress=false --enable-ipv6=false \
	--hostname-override "$NODE_NAME" \
	--service-cluster-ip-range "$SERVICE_CIDR" --health-port 20244 --metrics-port 0
up kube-router 60 "kube-router's firewall at FORWARD's top" \
	sh -c "iptables -w -S FORWARD 1 | grep -q 'KUBE-ROUTER-FORWARD'"

# ---- docker's FORWARD policy is DROP: accept pod traffic at the end of
# FORWARD, after kube-router's chain (which REJECTs what a NetworkPolicy
# forbids and ACCEPTs what it allows, at position 1) and docker's rules.
for dir in -i -o; do
	iptables -w -A FORWARD "$dir" "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT
	record iptables "FORWARD $dir $BRIDGE -m comment --comment $RULE_COMMENT -j ACCEPT"
done

# The service account token controller gives the default namespace its
# ServiceAccount; pods cannot be made before it.
up kube-controller-manager 60 "default ServiceAccount" k get serviceaccount default -n default

trap - EXIT
awk -v s="$start_time" -v r="$ready_time" -v e="$(date +%s.%N)" \
	'BEGIN { printf "testcluster/up: node Ready %.1f s after start, cluster up in %.1f s\n", r - s, e - s }' >&2
echo "export KUBECONFIG=$KUBECONFIG_FILE"

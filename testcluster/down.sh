#!/usr/bin/env bash
# down.sh tears down the test cluster up.sh made, also after a partial or
# failed up.sh: its processes by the PIDs it recorded (then any left by the
# names only they carry), the pods' containers and containerd's shims, the
# mounts under the state dir (kubelet's, containerd's, the pods' network
# namespaces), the cgroups, the iptables chains and rules of kubelet,
# kube-proxy, kube-router and the CNI plugins (KUBE-*, CNI-*, and up.sh's own
# rules), kube-router's ipsets, the bridge and the dummy interface, the
# sysctls (back to the values recorded before), files kubelet and CNI put
# outside the state dir, and the state dir. Docker's rules and containers
# are left alone. It checks nothing is left and exits 1 when something is.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root"
t0=$(date +%s.%N)
problems=0
problem() {
	log "left: $*"
	problems=$((problems + 1))
}

# ---- processes.
alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL.
stop_pid() {
	local pid=$1 limit=${2:-10} i=0
	kill -TERM "$pid" 2>/dev/null || return 0
	while alive "$pid"; do
		i=$((i + 1))
		if [ "$i" -gt $((limit * 10)) ]; then
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
			break
		fi
		sleep 0.1
	done
}
stop() {
	local pid
	pid=$(pid_of "$1") || return 0
	log "stopping $1 ($pid)"
	stop_pid "$pid" "${2:-10}"
}
# ours: PIDs of processes of this cluster that down.sh did not find by
# their PID file: one of the programs up.sh runs whose command line names
# the state dir (or containerd's socket in it).
ours() {
	local p pid exe
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" != $$ ] || continue
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case ${exe##*/} in
		etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | kube-router | containerd | containerd-shim*) ;;
		*) continue ;;
		esac
		tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qF "$STATE/" && echo "$pid"
	done
}
cgroup_pids() {
	local h
	for h in /sys/fs/cgroup/*/"$CGROUP_NAME"; do
		[ -d "$h" ] && find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

# The agents first (kubelet would restart the pods), containerd and the
# pods' containers, the control plane last.
for c in kube-router kube-proxy kubelet kube-scheduler kube-controller-manager; do
	stop "$c"
done
pods=$(cgroup_pids)
if [ -n "$pods" ]; then
	log "killing the pods' processes ($(echo "$pods" | wc -l))"
	# shellcheck disable=SC2086 # a list of PIDs
	kill -KILL $pods 2>/dev/null
	i=0
	while [ -n "$(cgroup_pids)" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
if pid_of containerd >/dev/null && ctr_ version >/dev/null 2>&1; then
	ids=$(ctr_ containers list -q 2>/dev/null)
	if [ -n "$ids" ]; then
		log "deleting containerd's tasks and containers ($(echo "$ids" | wc -l))"
		for id in $ids; do
			timeout 10 ctr --address "$CONTAINERD_SOCK" --namespace k8s.io tasks delete --force "$id" >/dev/null 2>&1
			timeout 10 ctr --address "$CONTAINERD_SOCK" --namespace k8s.io containers delete "$id" >/dev/null 2>&1
		done
	fi
fi
stop containerd 15
# Shims of tasks containerd did not get to delete: killed, their sockets
# (in /run/containerd/s, named by hash) removed.
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" ] || continue
	case $(readlink "$p/exe") in */containerd-shim*) ;; *) continue ;; esac
	tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF "$CONTAINERD_SOCK" || continue
	log "killing shim ${p#/proc/}"
	kill -KILL "${p#/proc/}" 2>/dev/null
done
for d in "$RUN"/containerd/io.containerd.runtime.v2.task/*/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	id=${d##*/}
	ns=${d%/*}
	ns=${ns##*/}
	rm -f "$SHIM_SOCKET_DIR/$(printf '%s' "$CONTAINERD_SOCK/$ns/$id" | sha256sum | cut -d' ' -f1)"
done
stop kube-apiserver
stop etcd
left=$(ours)
if [ -n "$left" ]; then
	log "killing processes left: $(echo "$left" | tr '\n' ' ')"
	# shellcheck disable=SC2086 # a list of PIDs
	kill -KILL $left 2>/dev/null
	sleep 0.3
fi

# ---- mounts under the state dir: kubelet's root dir (bound onto itself,
# rshared), its volumes, containerd's rootfs and shm mounts, the pods'
# network namespaces (netns_mounts_under_state_dir), deepest first.
our_mounts() { findmnt -rn -o TARGET | awk -v s="$STATE" '$0 == s || index($0, s "/") == 1 { print length($0), $0 }' | sort -rn | cut -d' ' -f2-; }
for pass in 1 2 3; do
	m=$(our_mounts)
	[ -n "$m" ] || break
	[ "$pass" != 1 ] || log "unmounting $(echo "$m" | wc -l) mounts under $STATE"
	while IFS= read -r t; do
		umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null
	done <<<"$m"
done

# ---- cgroups (the processes in them are gone).
for h in /sys/fs/cgroup/*/"$CGROUP_NAME"; do
	[ -d "$h" ] || continue
	for _ in 1 2 3 4 5; do
		find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$h" ] || break
		# shellcheck disable=SC2046 # a list of PIDs
		kill -KILL $(find "$h" -name cgroup.procs -exec cat {} + 2>/dev/null) 2>/dev/null
		sleep 0.2
	done
done

# ---- iptables: rules in any chain that jump to KUBE-*/CNI-* chains or
# carry up.sh's comment (deleted by their own spec, so docker's rules and
# their order stay untouched), then those chains, in both families and on
# the legacy backend too.
clean_iptables() {
	local cmd=$1 t dump line chains c
	command -v "$cmd-save" >/dev/null || return 0
	# Only the tables there (naming one with -t would create it, on the
	# legacy backend).
	for t in $("$cmd-save" 2>/dev/null | sed -n 's/^\*//p'); do
		dump=$("$cmd-save" -t "$t" 2>/dev/null) || continue
		grep -qE "^:(KUBE-|CNI-)| $RULE_COMMENT( |\$)" <<<"$dump" || continue
		while IFS= read -r line; do
			[ -n "$line" ] || continue
			c=${line#-A }
			c=${c%% *}
			case $c in KUBE-* | CNI-*) continue ;; esac
			eval "\"\$cmd\" -w -t \"\$t\" -D ${line#-A }" 2>/dev/null || log "cannot delete ($cmd -t $t) $line"
		done <<<"$(grep -E '^-A ' <<<"$dump" | grep -E -e ' -[jg] (KUBE-|CNI-)' -e "--comment \"?$RULE_COMMENT\"?( |\$)")"
		chains=$(grep -oE '^:(KUBE-|CNI-)[^ ]+' <<<"$dump" | cut -c2-)
		for c in $chains; do "$cmd" -w -t "$t" -F "$c" 2>/dev/null; done
		for c in $chains; do "$cmd" -w -t "$t" -X "$c" 2>/dev/null || log "cannot delete chain ($cmd -t $t) $c"; done
	done
}
for cmd in iptables ip6tables iptables-legacy ip6tables-legacy; do
	clean_iptables "$cmd"
done

# ---- ipsets kube-router made (not there before up.sh).
before=$STATE/ipsets-before.txt
for s in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|kube-router-)'); do
	if [ -f "$before" ] && grep -qxF "$s" "$before"; then continue; fi
	ipset destroy "$s" 2>/dev/null || log "cannot destroy ipset $s"
done

# ---- links: veths left on the bridge, the bridge, the dummy interface.
for l in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
	ip link del "$l" 2>/dev/null
done
for l in "$BRIDGE" "$API_IF"; do
	! ip link show "$l" >/dev/null 2>&1 || ip link del "$l" || log "cannot delete link $l"
done
# Connection tracking entries of the pods' and the API server's addresses.
if command -v conntrack >/dev/null; then
	for f in "-s $POD_CIDR" "-d $POD_CIDR" "-d $API_IP" "-d $SERVICE_CIDR"; do
		# shellcheck disable=SC2086 # option and value
		conntrack -D $f >/dev/null 2>&1
	done
fi

# ---- sysctls back to what they were.
while IFS= read -r kv; do
	[ -n "$kv" ] || continue
	k=${kv%%=*}
	v=${kv#*=}
	now=$(sysctl -n "$k" 2>/dev/null) || continue
	if [ "$now" != "$v" ]; then
		log "sysctl $k: $now -> $v"
		sysctl -qw "$k=$v" || log "cannot restore sysctl $k=$v"
	fi
done <<<"$(recorded sysctl)"
# Any other kernel/vm/net setting that changed since up.sh, to report
# (not per interface: docker's come and go).
if [ -f "$STATE/sysctl-before.txt" ]; then
	sysctl -a 2>/dev/null | awk -F' = ' '
		NR == FNR { b[$1] = b[$1] "," $2; next }
		{ a[$1] = a[$1] "," $2 }
		END {
			for (k in a)
				if ((k in b) && a[k] != b[k] && k ~ /^(kernel|vm|net)\./ &&
					k !~ /^(kernel\.random|kernel\.ns_last_pid|kernel\.pty\.nr|net\.netfilter\.nf_conntrack_count|kernel\.sched_|vm\.stat)/ &&
					(k !~ /^net\.ipv[46]\.(conf|neigh)\./ || k ~ /^net\.ipv[46]\.(conf|neigh)\.(all|default)\./))
					print "testcluster/down: warning: sysctl " k " was " substr(b[k], 2) ", is " substr(a[k], 2)
		}' "$STATE/sysctl-before.txt" - >&2
fi

# ---- files outside the state dir: CNI's result cache, kubelet's log links.
# libcni caches each attachment's result as <network>-<sandbox id>-<if>,
# in results/ or cache/results/: ours are those of our sandboxes.
for d in "$STATE"/containerd/io.containerd.grpc.v1.cri/sandboxes/*/ "$RUN"/containerd/io.containerd.runtime.v2.task/k8s.io/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	rm -f /var/lib/cni/results/*-"${d##*/}"-* /var/lib/cni/cache/results/*-"${d##*/}"-*
done
rm -f /var/lib/cni/results/"$CNI_NETWORK"-* /var/lib/cni/cache/results/"$CNI_NETWORK"-*
for f in /var/log/containers/*; do
	[ -L "$f" ] || continue
	case $(readlink "$f") in "$STATE"/*) rm -f "$f" ;; esac
done
# Directories up.sh found missing: what the cluster left in them, then
# the empty directories.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
for d in $(recorded created-dir); do
	[ -d "$d" ] && find "$d" -depth -type d -empty -delete 2>/dev/null
done

# nftables tables that iptables-nft made for kubelet and kube-proxy (ip
# mangle, ip6 filter/nat/mangle) and that hold no rule any more.
if command -v nft >/dev/null && [ -f "$STATE/nft-tables-before.txt" ]; then
	nft list tables 2>/dev/null | while read -r _ fam name; do
		grep -qxF "table $fam $name" "$STATE/nft-tables-before.txt" && continue
		case $fam in ip) x=iptables ;; ip6) x=ip6tables ;; *) continue ;; esac
		"$x-save" -t "$name" 2>/dev/null | grep -q '^-A ' && continue
		nft delete table "$fam" "$name" 2>/dev/null || log "cannot delete nftables table $fam $name"
	done
fi

# ---- the state dir (never across a mount still there).
if [ -d "$STATE" ]; then
	if [ -n "$(our_mounts)" ]; then
		problem "mounts under $STATE: $(our_mounts | tr '\n' ' ')"
	else
		rm -rf --one-file-system "$STATE" || problem "cannot remove $STATE"
	fi
fi

# ---- check nothing is left.
[ -z "$(ours)" ] || problem "processes: $(ours | tr '\n' ' ')"
for l in "$BRIDGE" "$API_IF"; do
	! ip link show "$l" >/dev/null 2>&1 || problem "link $l"
done
for cmd in iptables ip6tables; do
	n=$("$cmd-save" 2>/dev/null | grep -cE "^:(KUBE-|CNI-)|-j (KUBE-|CNI-)| $RULE_COMMENT( |\$)")
	[ "$n" = 0 ] || problem "$n $cmd chains/rules of KUBE-*/CNI-*"
done
n=$(ipset list -n 2>/dev/null | grep -cE '^(inet6:)?(KUBE-|kube-router-)')
[ "$n" = 0 ] || problem "$n ipsets"
for h in /sys/fs/cgroup/*/"$CGROUP_NAME"; do
	[ ! -d "$h" ] || problem "cgroup $h"
done
[ ! -e "$STATE" ] || problem "$STATE"

awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "testcluster/down: done in %.1f s\n", e - s }' >&2
[ "$problems" = 0 ] || exit 1

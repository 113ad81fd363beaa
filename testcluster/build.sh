#!/bin/sh
# build.sh builds the test cluster's binaries from the Go module proxy and
# caches them by version: kubelet, kube-apiserver, kube-controller-manager,
# kube-scheduler, kube-proxy and kubectl (all v$K8S_VERSION), etcd and
# kube-router. It prints the directory that holds them.
#
# k8s.io/kubernetes replaces its 33 staging modules with ./staging/...,
# which its module zip does not hold: a small local module requires it and
# replaces each staging module with its published v0.X.Y instead
# (../shared/reference/kubernetes-here.md). etcd and kube-router each get a
# module of their own so that neither drags the other's dependencies.
set -eu

K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
KUBE_ROUTER_VERSION=${KUBE_ROUTER_VERSION:-2.1.0}
cache=${CLAUDE_BOTTLE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-bottle/k8s}
key="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kube-router-$KUBE_ROUTER_VERSION"
out="$cache/$key"
bins="kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl etcd kube-router"

have() {
	for b in $bins; do [ -x "$out/bin/$b" ] || return 1; done
}
if have; then
	echo "$out/bin"
	exit 0
fi

log() { echo "testcluster/build: $*" >&2; }
work="$out/src"
mkdir -p "$work" "$out/bin.part"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

# Kubernetes.
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
mkdir -p "$work/k8s"
cd "$work/k8s"
if [ ! -f go.mod ]; then
	log "resolving k8s.io/kubernetes v$K8S_VERSION"
	gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	{
		echo "module claude-bottle.test/k8sbuild"
		echo
		echo "go 1.25"
		echo
		echo "require k8s.io/kubernetes v$K8S_VERSION"
		echo
		sed -n "s#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 v0.$minor.$(echo "$K8S_VERSION" | cut -d. -f3)#p" "$gomod"
	} >go.mod.new
	cat >tools.go <<'GO'
//go:build tools

package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
	mv go.mod.new go.mod
	go mod tidy -e >&2
fi
ver="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
ver="$ver -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
for b in kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl; do
	[ -x "$out/bin.part/$b" ] && continue
	log "building $b v$K8S_VERSION"
	go build -trimpath -ldflags "-s -w $ver" -o "$out/bin.part/$b" "k8s.io/kubernetes/cmd/$b"
done

# etcd: go.etcd.io/etcd/server/v3 has its main package at the module root.
mkdir -p "$work/etcd"
cd "$work/etcd"
if [ ! -x "$out/bin.part/etcd" ]; then
	[ -f go.mod ] || { go mod init claude-bottle.test/etcdbuild >&2 && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2; }
	log "building etcd v$ETCD_VERSION"
	go build -trimpath -ldflags "-s -w" -o "$out/bin.part/etcd" go.etcd.io/etcd/server/v3
fi

# kube-router, for its NetworkPolicy firewall only (iptables and ipset).
mkdir -p "$work/kube-router"
cd "$work/kube-router"
if [ ! -x "$out/bin.part/kube-router" ]; then
	[ -f go.mod ] || { go mod init claude-bottle.test/kuberouterbuild >&2 && go get "github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION" >&2; }
	log "building kube-router v$KUBE_ROUTER_VERSION"
	# The version kube-router logs and checks at start (empty: "Malformed version").
	go build -trimpath -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION" \
		-o "$out/bin.part/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
fi

rm -rf "${out:?}/bin"
mv "$out/bin.part" "$out/bin"
echo "$out/bin"

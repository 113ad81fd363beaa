# claude-bottle — see README.md.
GO ?= go
BIN ?= bin/claude-bottle
FUZZTIME ?= 20s

.PHONY: build test update-golden demo images e2e e2e-bench fuzz bench lint clean

# The version --version prints: git's description of the commit ("dev" without git).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) .

# The test command of the README: unit tests, golden transcripts, vet.
test:
	$(GO) vet ./...
	$(GO) test ./...

# Refresh the golden transcripts in testscripts/ (then read the diff).
update-golden:
	UPDATE_GOLDEN=1 $(GO) test -run 'TestSmolmachines|TestDocker|TestCLI|TestKubernetes' .

# A dry-run launch: needs neither docker nor smolvm.
demo:
	$(GO) run . --backend smolmachines --dry-run launch --name demo \
		--upstream origin=https://github.com/acme/app.git --supervise

# The bundle and agent images. The defaults pull from registries; on a
# machine without one, build the local bases first (testimages/build.sh) and
# pass them, e.g.:
#   make images BUNDLE_BASE=claude-bottle-test/debian:bookworm AGENT_BASE=claude-bottle-test/node:bookworm \
#     PIPELOCK_IMAGE=claude-bottle-test/pipelock-standin:latest CLAUDE_CODE_VERSION=none
# Unset variables leave `images build`'s defaults (the bases pinned by digest).
BUNDLE_BASE ?=
AGENT_BASE ?=
PIPELOCK_IMAGE ?=
PIPELOCK_DIGEST ?=
CLAUDE_CODE_VERSION ?=
images: build
	$(BIN) images build --binary $(BIN) $(if $(BUNDLE_BASE),--bundle-base $(BUNDLE_BASE)) \
		$(if $(AGENT_BASE),--agent-base $(AGENT_BASE)) $(if $(PIPELOCK_IMAGE),--pipelock-image $(PIPELOCK_IMAGE)) \
		$(if $(PIPELOCK_DIGEST),--pipelock-digest $(PIPELOCK_DIGEST)) \
		$(if $(CLAUDE_CODE_VERSION),--claude-code-version $(CLAUDE_CODE_VERSION))

# The end-to-end suite on the local Docker Engine. E2E_PIPELOCK_IMAGE: an
# image holding /pipelock (the real one: README, End-to-end tests) whose
# binary replaces the stand-in in the suite's bundle; give such a bundle a
# tag of its own with E2E_BUNDLE_IMAGE.
E2E_PIPELOCK_IMAGE ?=
E2E_BUNDLE_IMAGE ?= claude-bottle-test/bundle-e2e:latest
e2e:
	./testimages/build.sh
	docker build -q -t claude-bottle-test/tools:latest e2e/tools
	docker build -q -t $(E2E_BUNDLE_IMAGE) $(if $(E2E_PIPELOCK_IMAGE),--build-arg PIPELOCK=$(E2E_PIPELOCK_IMAGE)) e2e/bundle
	E2E_BUNDLE_IMAGE=$(E2E_BUNDLE_IMAGE) E2E_PIPELOCK_IMAGE=$(E2E_PIPELOCK_IMAGE) \
		$(GO) test -tags e2e -count=1 -timeout 20m -v ./e2e/...

# The launch-vs-bare-docker benchmark of the end-to-end suite.
e2e-bench: 
	$(GO) test -tags e2e -count=1 -run '^$$' -bench . -benchtime 5x ./e2e/

# A real one-node Kubernetes test cluster on this machine (as root; see
# testcluster/up.sh). k8s-cluster builds the binaries (cached), the test
# images as `e2e` does, brings the cluster up and imports the images into
# its containerd; k8s-cluster-down removes it; k8s-smoke brings one up,
# proves it (pods, the API server from a pod, a NetworkPolicy enforced) and
# removes it, also when the smoke test fails.
.PHONY: k8s-cluster k8s-cluster-down k8s-smoke k8s-e2e k8s-e2e-run
K8S_IMAGES = claude-bottle-test/debian:bookworm claude-bottle-test/bundle:latest \
	claude-bottle-test/agent:latest claude-bottle-test/tools:latest $(E2E_BUNDLE_IMAGE)
k8s-cluster:
	./testcluster/build.sh >/dev/null
	./testimages/build.sh
	docker build -q -t claude-bottle-test/tools:latest e2e/tools
	docker build -q -t $(E2E_BUNDLE_IMAGE) $(if $(E2E_PIPELOCK_IMAGE),--build-arg PIPELOCK=$(E2E_PIPELOCK_IMAGE)) e2e/bundle
	./testcluster/up.sh >/dev/null
	./testcluster/import.sh $(K8S_IMAGES)
	@echo "export KUBECONFIG=$${CLAUDE_BOTTLE_K8S_STATE:-/var/lib/claude-bottle-k8s}/kubeconfig"
k8s-cluster-down:
	./testcluster/down.sh
# The kubernetes end-to-end suite (e2e/kubernetes_test.go) on a test
# cluster brought up for it and torn down after, also when it fails;
# k8s-e2e-run runs it on the cluster that is up (make k8s-cluster).
K8S_KUBECONFIG = $${CLAUDE_BOTTLE_K8S_STATE:-/var/lib/claude-bottle-k8s}/kubeconfig
k8s-e2e: k8s-cluster
	$(MAKE) k8s-e2e-run; rc=$$?; ./testcluster/down.sh || rc=1; exit $$rc
k8s-e2e-run:
	E2E_KUBECONFIG=$(K8S_KUBECONFIG) PATH=$$(./testcluster/build.sh):$$PATH \
		$(GO) test -tags e2e -count=1 -timeout 20m -v -run 'TestKubernetes' ./e2e/
k8s-smoke:
	./testcluster/build.sh >/dev/null
	./testcluster/up.sh >/dev/null
	./testcluster/smoke.sh; rc=$$?; ./testcluster/down.sh || rc=1; exit $$rc

fuzz:
	$(GO) test ./shell -run '^$$' -fuzz FuzzQuoteRoundTrip -fuzztime $(FUZZTIME)
	$(GO) test ./launch -run '^$$' -fuzz FuzzParsePortBinding -fuzztime $(FUZZTIME)
	$(GO) test ./launch -run '^$$' -fuzz FuzzParseUpstream -fuzztime $(FUZZTIME)
	$(GO) test ./sidecar -run '^$$' -fuzz FuzzReadRequest -fuzztime $(FUZZTIME)
	$(GO) test ./display -run '^$$' -fuzz FuzzVisible -fuzztime $(FUZZTIME)
	$(GO) test ./display -run '^$$' -fuzz FuzzJSON -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./launch/

lint:
	test -z "$$(gofmt -l .)"
	$(GO) vet ./...

clean:
	rm -rf bin

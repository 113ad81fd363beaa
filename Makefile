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
	UPDATE_GOLDEN=1 $(GO) test -run 'TestSmolmachines|TestDocker|TestCLI' .

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

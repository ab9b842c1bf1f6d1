# dtask's own build. `make test` is what CI runs (through .ci/run).
GO      ?= go
BIN     := bin/dtask
PKGS    := ./...

.PHONY: build test test-deps test-engines engines unit bench lint fixtures registry example clean docs killtrials

build:
	$(GO) build -o $(BIN) ./cmd/dtask

# Unit, Docker and CLI tests, against the engine DOCKER_HOST names (default:
# the local one). It first makes what the Docker tests need: the engine up,
# the fixture images, the local registries, the host packages of the deploy
# tests (sshd, ssh, ip). With CI=true no test skips.
test: build fixtures registry test-deps
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m $(PKGS)

# The engine matrix: the Docker tests and the example once per engine (the
# machine's, Docker 28.5 overlay2, Docker 28.5 containerd image store).
# ENGINES="overlay2" picks some. Needs root (it starts the extra engines).
ENGINES ?=
test-engines: build
	scripts/test-engines.sh $(ENGINES)

# Start the extra engines of the matrix (scripts/engines.sh status|stop|env).
engines:
	scripts/engines.sh start

# Tests that need no Docker engine: the planner, keys, watch matching and
# the targets' logic through the in-process fake engine (internal/fakedocker).
# -short skips the tests of Docker's own behaviour, which `make test` runs.
unit:
	$(GO) test -count=1 -short $(PKGS)

bench: build
	scripts/bench/run.sh

# SIGKILL trials per kind of target (sh, build, run): no orphan process,
# stale record, container or network may be left. TRIALS=5 for a quick run.
TRIALS ?= 30
killtrials: build
	scripts/killtrials/run.sh $(TRIALS)

lint:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l cmd engine targets internal)" || (gofmt -l cmd engine targets internal; exit 1)

test-deps:
	@bash -c 'source scripts/fixtures/lib.sh && ensure_pkgs openssh-server openssh-client iproute2 curl'

# Offline images the tests and the example use (nothing can be pulled here).
fixtures:
	scripts/fixtures/docker-up.sh
	scripts/fixtures/images.sh

registry:
	scripts/fixtures/registry.sh start

# The example pipeline end to end: build dtask, make missing fixtures, start
# the local registry, run the ci target.
example: build fixtures registry
	$(BIN) -f Taskfile.example.toml ci

clean:
	rm -rf bin

# Regenerate docs/cli.md from the flags and docs/taskfile.schema.json from
# the task file model (tests fail when they are stale).
docs:
	$(GO) generate ./cmd/dtask
	$(GO) run ./cmd/dtask --schema > docs/taskfile.schema.json

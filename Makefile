# dtask's own build. `make test` is what CI runs (through .ci/run).
GO      ?= go
BIN     := bin/dtask
PKGS    := ./...

.PHONY: build test unit bench lint fixtures registry example clean killtrials

build:
	$(GO) build -o $(BIN) ./cmd/dtask

# Unit, Docker and CLI tests. Docker tests need the fixtures (make fixtures)
# and run against the local engine; with CI=true they never skip.
test: build
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m $(PKGS)

# Tests that need no Docker engine.
unit:
	$(GO) test -count=1 -short ./engine/... ./cmd/...

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

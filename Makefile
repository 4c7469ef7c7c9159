# pointage — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CACHE     ?= $(HOME)/.cache/pointage
export PATH := $(CACHE)/bin:$(PATH)

# Packages with concurrency run under the race detector; the whole tree
# does too unless RACE= is given (make test RACE=).
RACE      ?= -race
TESTFLAGS ?= -count=1 -timeout 20m
# How long `make test` fuzzes each fuzz target (after their seed corpora).
FUZZTIME  ?= 5s

.PHONY: package run test test-short test-faults test-fuzz deps bench bench-quick build build-cross vet fmt clean

## run: the whole system on embedded defaults, with a simulated school
run:
	$(GO) run ./cmd/pointage-hub demo

## test: every test, against real mosquitto/influxd/ptys (installs what is missing)
test: deps vet
	$(GO) test $(RACE) $(TESTFLAGS) ./...
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz-short.sh

## test-fuzz: every fuzz target for FUZZTIME (make test-fuzz FUZZTIME=1m)
test-fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz-short.sh

## test-short: unit tests only (no servers)
test-short:
	$(GO) test -short $(TESTFLAGS) ./...

## test-faults: the fault-injection suite in full (20 agent kills, influxd down 60 s, …);
## `make test` runs its short version (POINTAGE_FAULTS unset)
test-faults: deps
	POINTAGE_FAULTS=full $(GO) test $(RACE) -count=1 -timeout 15m ./faults/...

## deps: install what the tests need (mosquitto, influxd 1.8.10, chromium)
deps:
	@bash scripts/ensure-deps.sh

## bench: every benchmark in one run (~12-17 min; builds Telegraf v1.30.3 into $(CACHE)/bin once);
## writes the generated block of docs/BENCHMARKS.md and the raw outputs in docs/bench/
bench: deps
	$(GO) run ./bench

## bench-quick: the same harness with small counts, one repetition, no city-scale benchmarks
bench-quick: deps
	$(GO) run ./bench -quick

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## build-cross: the agent for Raspberry Pis, mini-PCs and Windows 10+ PCs (pure Go, no cgo)
build-cross:
	CGO_ENABLED=0 GOOS=linux   GOARCH=amd64         $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-amd64/   ./cmd/...
	CGO_ENABLED=0 GOOS=linux   GOARCH=arm64         $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-arm64/   ./cmd/...
	CGO_ENABLED=0 GOOS=linux   GOARCH=arm GOARM=7   $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-armv7/   ./cmd/...
	CGO_ENABLED=0 GOOS=linux   GOARCH=arm GOARM=6   $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/linux-armv6/   ./cmd/...
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64         $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/windows-amd64/ ./cmd/...

## package: .deb packages into dist/ (agent: amd64, arm64, armhf; hub: amd64, arm64), with nfpm
package:
	$(GO) run ./packaging -version $(VERSION) -out dist

## vet: go vet, also of the Windows build (the agent's service)
vet:
	$(GO) vet ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)

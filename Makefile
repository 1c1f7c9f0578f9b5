# Thin wrappers over go commands. `make test` is what CI runs (.ci/run).
GO      ?= go
PKGS    := ./...
FUZZTIME ?= 10000x

.PHONY: run build test check fmt-check vet deps-check unit fuzz bench golden clean

## run: the app with its embedded sandbox EHR at http://127.0.0.1:8080
run:
	$(GO) run ./cmd/mbcplan serve --addr 127.0.0.1:8080

build:
	$(GO) build -o bin/mbcplan ./cmd/mbcplan

## test: formatting, vet, import directions, all tests with -race, brief fuzzing
test: check unit fuzz

check: fmt-check vet deps-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

deps-check:
	@sh .ci/deps-check

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## fuzz: each fuzz target briefly, one package per `go test -fuzz` call
fuzz:
	@sh .ci/fuzz $(FUZZTIME)

## bench: the benchmarks (fetch+map+recommend wall time, mapping CPU/allocs)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./fhir/ ./recommend/

## golden: rewrite golden files (review the diff like code)
golden:
	$(GO) test ./fhir -run 'Golden' -update

clean:
	rm -rf bin

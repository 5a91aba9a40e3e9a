# fjord — see README.md. Everything builds with the Go toolchain alone.
GO      ?= go
BIN     := bin/fjord
VERSION ?= 0.1.0
LDFLAGS := -s -w -X github.com/fjord-faas/fjord/internal/version.Release=$(VERSION)
LISTEN  ?= :8080

.PHONY: build serve test test-short bench bench-smoke vet fmt clean

build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/fjord

## serve: build and run the platform with the example function "hello" deployed
serve: build
	./$(BIN) serve --example --listen $(LISTEN)

## test: every test, including end-to-end ones against the real binary
test:
	scripts/test.sh

test-short:
	$(GO) test -short ./...

bench: build
	$(GO) run ./bench

## bench-smoke: a ~20 s run that checks the benchmark still works; writes no report
bench-smoke: build
	$(GO) run ./bench -smoke -out ""

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin build test-output.log

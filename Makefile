# urun Makefile. The two commands a newcomer types:
#   make demo    build urun and run testdata/bundles/busybox with it
#   make test    everything CI runs (installs what it needs when root)

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Static, stripped, no cgo: a smaller binary starts faster, and urun runs
# itself twice per container (CLI, then the re-executed placeholder).
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
URUN     := bin/urun
UNIT_PKGS = $(shell $(GO) list ./... | grep -v -e /e2e -e /tests -e /clients)

.PHONY: all build test unit integration lint docs demo clean deps

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(URUN) ./cmd/urun

# deps: the packages the suites need (scripts/deps.sh lists them: buildah,
# podman, containerd, docker.io, Open MPI, Slurm, ...) and the test
# accounts (as root);
# as a normal user it only reports what is missing.
deps:
	sh scripts/deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags bench ./bench/...

unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)

# The integration tests build their own urun and run it as the test accounts.
# The second pass runs the nested account's tests again with the
# two-process executor, which it would otherwise take only for configs the
# in-process one does not handle (spawn/inproc.go).
integration:
	$(GO) test -count=1 -timeout 20m ./tests/
	URUN_EXECUTOR=two-process URUN_TEST_ACCOUNTS=nested $(GO) test -count=1 -timeout 20m ./tests/

test: deps lint unit integration build e2e clients

docs:
	$(GO) run ./config/internal/gendoc -o unsupported.md

# demo: the default bundle (config from testdata/bundles/busybox, rootfs
# made from Debian's busybox-static) run with `urun run`; as root, as the
# unprivileged test account urunsub.
demo: build
	sh scripts/demo.sh $(URUN)

clean:
	rm -rf bin build

include e2e/e2e.mk
include clients/clients.mk
include bench/bench.mk

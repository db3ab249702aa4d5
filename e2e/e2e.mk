# e2e.mk: buildah (and podman) end-to-end tests (issues 4, 13), included by the top Makefile.
# `make e2e` assumes bin/urun exists (built by `make build`) and that
# scripts/deps.sh ran (buildah, uidmap, busybox-static, the test accounts).
# It must run as root: the tests run buildah as urunsub and urunnosub.
#   make e2e                      the suite against bin/urun
#   make e2e E2E_RUNTIME=runc     the same suite against runc (validates the harness)
#   make e2e E2E_RUN=TestChown    one case
#   make demo-build               a small build with buildah --runtime=bin/urun

E2E_URUN_BIN ?= $(abspath bin/urun)
E2E_RUN ?= .
E2E_TIMEOUT ?= 20m

.PHONY: e2e e2e-runc demo-build

e2e:
	URUN_BIN=$(E2E_URUN_BIN) go test ./e2e/ -v -count=1 -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)'

e2e-runc:
	E2E_RUNTIME=runc go test ./e2e/ -v -count=1 -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)'

demo-build:
	sh e2e/demo.sh $(E2E_URUN_BIN)

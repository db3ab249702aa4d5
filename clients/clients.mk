# clients.mk: urun driven by the real containerd (ctr) and Docker (issue 17),
# included by the top Makefile. Needs root, bin/urun (make build) and the
# containerd and docker.io packages (scripts/deps.sh). The suite starts its
# own containerd and dockerd with private state and stops them at the end.
#   make clients                         the suite against bin/urun
#   make clients CLIENTS_RUNTIME=runc    the same scenarios with runc (validates the harness)

CLIENTS_RUN ?= .

.PHONY: clients

clients:
	URUN_BIN=$(abspath bin/urun) CLIENTS_RUNTIME=$(CLIENTS_RUNTIME) go test ./clients/ -v -count=1 -timeout 10m -run '$(CLIENTS_RUN)'

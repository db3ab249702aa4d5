# bench/bench.mk: `make bench` (issue 5). Included from the top Makefile:
#
#	include bench/bench.mk
#
# Needs the top Makefile's `build` target (go build -o bin/urun ./cmd/urun).
# Run as root: the harness drops to the unprivileged account urunsub (made by
# scripts/setup-accounts.sh when missing) for sections (a)-(e), runs (h) as
# urunsub and urunnosub themselves, and installs crun, runc, hyperfine or GNU
# time with apt-get, announced, only when they are missing. It ends with the
# issue 12 targets table (benchtool targets). Knobs: BENCH_N, BENCH_CYCLES,
# BENCH_SEQ, BENCH_CONC, BENCH_NATIVE_N, ... (see bench/bench.sh).

BENCH_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: bench
bench: build
	URUN_BIN=$(abspath bin/urun) bash $(BENCH_DIR)/bench.sh

# bench-exec: only the exec section (f) of bench/results.md (bench/exec.sh).
.PHONY: bench-exec
bench-exec: build
	URUN_BIN=$(abspath bin/urun) bash $(BENCH_DIR)/exec.sh

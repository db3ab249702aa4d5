#!/usr/bin/env bash
# bench/exec.sh: the cost of exec (issue 14), urun against crun and runc.
#
#   bench/exec.sh             (or: make bench-exec; bench.sh runs it too)
#
# Run as root, as the account $BENCH_USER (default urunsub):
#   (f1) `RT exec ID /bin/true` into a running container (sleep), as uid 0 of
#        the account's own user+mount namespace (`unshare -Urm`), the way
#        podman calls a runtime;
#   (f2) `podman --runtime RT exec CTR /bin/true`, rootless podman as the
#        account (vfs storage in the work dir, --network=host: urun does not
#        join podman's default network namespace yet).
# Contenders interleaved round-robin by `benchtool interleave`. The section
# "### (f) exec" of bench/results.md is replaced (or appended).
#
# Environment: URUN_BIN (default <repo>/bin/urun), BENCH_USER, BENCH_EXEC_N
# (timed execs per contender, default 30), BENCH_OUT, BENCH_KEEP=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
mode=${1:-outer}
n=${BENCH_EXEC_N:-30}

say() { printf 'bench-exec: %s\n' "$*" >&2; }
die() { printf 'bench-exec: error: %s\n' "$*" >&2; exit 1; }

runtimes() { # name=binary, one a line
	echo "urun=$URUN_BIN"
	echo "crun=$(command -v crun)"
	echo "runc=$(command -v runc)"
}

# Under podman crun 1.8 refuses a hybrid-cgroup host, and podman's namespace
# cannot hide the cgroup2 mount as direct does: runc is the reference there.
podman_runtimes() {
	runtimes | if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then grep -v '^crun='; else cat; fi
}

# direct WORK: uid 0 in the account's user+mount namespace.
direct() {
	local work=$1 name bin
	cd "$work"
	if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
		mount -t tmpfs -o nosuid,nodev,noexec tmpfs /sys/fs/cgroup/unified # crun 1.8 refuses hybrid cgroups
	fi
	local -a args=()
	while IFS== read -r name bin; do
		mkdir -p "bundles/$name" "state/$name"
		(cd "bundles/$name" && "$bin" spec --rootless)
		./benchtool fixspec "bundles/$name/config.json" "$work/rootfs"
		sed -i 's|"/bin/true"|"/bin/sleep", "1000"|' "bundles/$name/config.json"
		"$bin" --root "$work/state/$name" create --bundle "$work/bundles/$name" "ex-$name" </dev/null >/dev/null 2>"create-$name.log" ||
			die "$name create: $(cat "create-$name.log")"
		"$bin" --root "$work/state/$name" start "ex-$name"
		args+=("$name=$bin --root $work/state/$name exec ex-$name /bin/true")
	done < <(runtimes)
	./benchtool interleave -n "$n" "${args[@]}" >direct.md
	while IFS== read -r name bin; do
		"$bin" --root "$work/state/$name" delete --force "ex-$name" || true
	done < <(runtimes)
}

# viapodman WORK: rootless podman as the account.
viapodman() {
	local work=$1 name bin
	cd "$work"
	export XDG_RUNTIME_DIR=$work/xdg
	mkdir -p -m 700 "$XDG_RUNTIME_DIR"
	local -a p=("$(command -v podman)" --root "$work/pstore" --runroot "$work/prun" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
	tar -C rootfs -c . | "${p[@]}" import - localhost/bench-exec >/dev/null
	local -a args=()
	while IFS== read -r name bin; do
		"${p[@]}" --runtime "$bin" run -d --name "ex-$name" --network=host localhost/bench-exec /bin/sleep 1000 >/dev/null
		args+=("$name=${p[*]} --runtime $bin exec ex-$name /bin/true")
	done < <(podman_runtimes)
	./benchtool interleave -n "$n" -base runc "${args[@]}" >podman.md
	while IFS== read -r name bin; do
		"${p[@]}" --runtime "$bin" rm -f -t 0 "ex-$name" >/dev/null || true
	done < <(podman_runtimes)
	[ ! -f "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid" ] || kill "$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid")" 2>/dev/null || true
}

outer() {
	[ "$(id -u)" = 0 ] || die "run as root (make bench-exec): it runs the runtimes as $BENCH_USER"
	local user=${BENCH_USER:-urunsub}
	export URUN_BIN=${URUN_BIN:-$repo/bin/urun}
	[ -x "$URUN_BIN" ] || die "$URUN_BIN not built (make build)"
	command -v crun >/dev/null && command -v runc >/dev/null && command -v podman >/dev/null ||
		die "needs crun, runc and podman (apt-get install crun runc podman)"
	work=$(mktemp -d /tmp/urun-bench-exec.XXXXXX) # global: the EXIT trap uses it
	chmod 755 "$work"
	[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
	cp "$URUN_BIN" "$work/urun"
	export URUN_BIN=$work/urun
	(cd "$repo" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -tags bench -o "$work/benchtool" ./bench/cmd/benchtool)
	sh "$repo/scripts/mkrootfs.sh" "$work/rootfs"
	chown -R "$user:" "$work"
	say "(f1) $n interleaved \`RT exec ID /bin/true\` per runtime, as uid 0 in $user's user namespace"
	runuser -u "$user" -- env URUN_BIN="$URUN_BIN" BENCH_EXEC_N="$n" unshare -Urm bash "$here/exec.sh" direct "$work"
	say "(f2) $n interleaved \`podman --runtime RT exec CTR /bin/true\` per runtime, rootless podman as $user"
	runuser -u "$user" -- env -i PATH="$PATH" HOME="$work" URUN_BIN="$URUN_BIN" BENCH_EXEC_N="$n" bash "$here/exec.sh" podman "$work"
	local sec=$work/section.md
	{
		echo "### (f) exec into a running container (issue 14), $(date -u +%Y-%m-%dT%H:%MZ), commit $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo
		echo "urun exec forks a child that only makes raw system calls (setns into the container's user and mount namespaces, chroot, execve of urun itself), which then applies process.* and execs the command: two Go starts (the CLI and the one inside), against crun's and runc's own. The first exec into a container also starts its watcher (not in these medians: all but the warm-up reuse it)."
		echo
		echo "(f1) \`RT exec ID /bin/true\`, uid 0 in the account's user+mount namespace, $n interleaved runs after 3 warm-ups, ms:"
		echo
		cat "$work/direct.md"
		echo
		echo "(f2) \`podman --runtime RT exec CTR /bin/true\`, rootless podman $(podman --version | awk '{print $3}'), conmon, --network=host, $n interleaved runs after 3 warm-ups, ms$(grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo && echo " (crun left out: it refuses this hybrid-cgroup host under podman)"):"
		echo
		cat "$work/podman.md"
		echo
	} >"$sec"
	cat "$sec"
	local outf=${BENCH_OUT:-$here/results.md}
	if [ -f "$outf" ]; then
		# In place of the old section, else before the targets table or
		# the kept analysis (bench.sh), else at the end.
		awk -v sec="$sec" '
			function put(  l) { if (!done) { while ((getline l < sec) > 0) print l; done = 1 } }
			/^### \(f\) exec/ { put(); skip = 1; next }
			/^### / && skip { skip = 0 }
			/^### Issue 12 targets/ || /^<!-- kept:/ { put() }
			!skip { print }
			END { put() }' "$outf" >"$work/rest.md"
		cp "$work/rest.md" "$outf"
	else
		cp "$sec" "$outf"
	fi
	say "section (f) written to $outf"
}

case $mode in
outer) outer ;;
direct) direct "$2" ;;
podman) viapodman "$2" ;;
*) die "unknown mode $mode" ;;
esac

#!/usr/bin/env bash
# bench/bench.sh: urun against crun, runc and the kernel floor (issue 5).
#
#   bench/bench.sh            (or: make bench)
#
# Run as root, it re-runs itself as the unprivileged account $BENCH_USER
# (default urunsub, created by scripts/setup-accounts.sh when missing) inside
# ONE `unshare -Urm` (user+mount namespace, uid 0 in it, like buildah calls a
# runtime), hides the cgroup2 `unified` mount of a hybrid-cgroup host under a
# tmpfs there (crun 1.8 refuses hybrid mode otherwise), builds a busybox
# rootfs, generates each contender's config with its own `spec --rootless`
# and runs every contender in that same namespace. Run as a normal user, it
# does the same as that user.
#
# Timing is done by bench/cmd/benchtool (Go, build tag "bench"): direct
# fork+exec+wait4, monotonic clock, contenders interleaved round-robin.
# Results go to stdout and to bench/results.md.
#
# Environment:
#   URUN_BIN            urun binary (default: <repo>/bin/urun); "not built" when absent
#   BENCH_USER          account to run as when started as root (default urunsub)
#   BENCH_N             `run` iterations per contender            (default 50)
#   BENCH_CYCLES        create/start/state/delete cycles          (default 30)
#   BENCH_RSS           runs per verb under GNU time for peak RSS (default 5)
#   BENCH_SEQ           sequential runs                           (default 100)
#   BENCH_CONC          concurrent runs                           (default 32)
#   BENCH_CONC_ROUNDS   rounds of concurrent runs                 (default 3)
#   BENCH_HYPERFINE     1: cross-check (a) with hyperfine when present (default 1)
#   BENCH_HF_RUNS       hyperfine runs per contender              (default 30)
#   BENCH_BUILDAH       1: 20-RUN buildah build per runtime when buildah is present (default 1)
#   BENCH_BUILDAH_ROUNDS  timed builds per runtime                (default 3)
#   BENCH_EXEC          1: section (f), exec, by bench/exec.sh (as root; default 1)
#   BENCH_HPC           1: section (g), HPC launch and ping-pong, by bench/hpc.sh (default 1)
#   BENCH_OUT           results file (default: bench/results.md)
#   BENCH_KEEP          1: keep the work directory
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
mode=${1:-outer}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# inner: runs as uid 0 of the unprivileged account's own user+mount namespace.
inner() {
	local work=$1
	local bt=$work/benchtool
	cd "$work"

	# crun 1.8 refuses a hybrid-cgroup host; hide cgroup2 under a tmpfs.
	if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
		mount -t tmpfs -o nosuid,nodev,noexec tmpfs /sys/fs/cgroup/unified
		echo "hybrid cgroups: /sys/fs/cgroup/unified hidden under a tmpfs in the benchmark namespace" >>"$work/env.txt"
	fi

	# One busybox rootfs shared read-only by every contender, owned by the
	# namespace's root.
	if [ -x "$repo/testdata/bundles/busybox/rootfs/bin/busybox" ]; then
		cp -R "$repo/testdata/bundles/busybox/rootfs" "$work/rootfs"
		echo "rootfs: copy of testdata/bundles/busybox/rootfs" >>"$work/env.txt"
	else
		sh "$repo/scripts/mkrootfs.sh" "$work/rootfs" >&2
		echo "rootfs: scripts/mkrootfs.sh (busybox-static)" >>"$work/env.txt"
	fi

	local -a cargs=() hf=()
	local name bin
	for name in urun crun runc; do
		case $name in
		urun) bin=$URUN_BIN ;;
		*) bin=$(command -v "$name") ;;
		esac
		if [ "$name" = urun ] && [ -n "${URUN_SKIP:-}" ]; then
			cargs+=(-skip "urun=$URUN_SKIP")
			continue
		fi
		mkdir -p "bundles/$name"
		if ! (cd "bundles/$name" && "$bin" spec --rootless) >"bundles/$name.spec.log" 2>&1 ||
			! "$bt" fixspec "bundles/$name/config.json" "$work/rootfs" 2>>"bundles/$name.spec.log"; then
			say "$name spec --rootless failed: $(tr '\n' ' ' <"bundles/$name.spec.log" | cut -c1-200)"
			cargs+=(-skip "$name=FAILED: \`spec --rootless\`: $(tr '\n|' '  ' <"bundles/$name.spec.log" | cut -c1-120)")
			continue
		fi
		cargs+=(-c "$name=$bin")
	done

	"$bt" bench "${cargs[@]}" -bundles "$work/bundles" -state "$work/state" \
		-n "${BENCH_N:-50}" -cycles "${BENCH_CYCLES:-30}" -rss "${BENCH_RSS:-5}" \
		-seq "${BENCH_SEQ:-100}" -conc "${BENCH_CONC:-32}" -conc-rounds "${BENCH_CONC_ROUNDS:-3}" \
		-time "$(command -v /usr/bin/time || true)" -md "$work/tables.md" -q

	# Optional cross-check of (a) with hyperfine (not interleaved: hyperfine
	# runs each command's series in turn; -N: no shell).
	if [ "${BENCH_HYPERFINE:-1}" = 1 ] && command -v hyperfine >/dev/null; then
		say "hyperfine cross-check of (a): ${BENCH_HF_RUNS:-30} runs per contender"
		local -a rows=()
		for name in urun crun runc floor; do
			local cmd
			case $name in
			floor) cmd="/usr/bin/unshare --user --map-root-user --mount /bin/true" ;;
			urun) [ -z "${URUN_SKIP:-}" ] || { rows+=("urun=!$URUN_SKIP"); continue; }
				cmd="$URUN_BIN --root $work/state/hf-urun run --bundle $work/bundles/urun hf" ;;
			*) cmd="$(command -v "$name") --root $work/state/hf-$name run --bundle $work/bundles/$name hf" ;;
			esac
			[ "$name" = floor ] || [ -f "bundles/$name/config.json" ] || { rows+=("$name=!FAILED: no config"); continue; }
			mkdir -p "state/hf-$name"
			if hyperfine -N --style none --warmup 3 --runs "${BENCH_HF_RUNS:-30}" \
				--export-json "hf-$name.json" -n "$name" "$cmd" >"hf-$name.log" 2>&1 </dev/null; then
				rows+=("$name=$work/hf-$name.json")
			else
				rows+=("$name=!FAILED: $(grep -m1 -i error "hf-$name.log" | tr '|' ' ' | cut -c1-150)")
			fi
		done
		{
			echo "### (a′) cross-check of (a) with hyperfine -N --warmup 3 --runs ${BENCH_HF_RUNS:-30} (one contender after the other, not interleaved)"
			echo
			"$bt" hyperfine "${rows[@]}"
			echo
		} >>"$work/tables.md"
	fi
}

# ---------------------------------------------------------------------------
# buildah: runs as the unprivileged account (buildah makes its own user
# namespace from the subuid range); times a 20-RUN-step build per runtime.
buildah_part() {
	local work=$1
	local out=$work/buildah.md
	cd "$work"
	local ctx file
	ctx=$(find_containerfile)
	if [ -n "$ctx" ]; then
		file=${ctx#*:}
		ctx=${ctx%%:*}
	else
		# Our own: FROM scratch + the busybox rootfs + 20 RUN steps.
		ctx=$work/buildctx
		mkdir -p "$ctx"
		sh "$repo/scripts/mkrootfs.sh" "$ctx/rootfs" >&2
		cp "$here/testdata/Containerfile.20run" "$ctx/Containerfile"
		file=$ctx/Containerfile
	fi
	local nrun
	nrun=$(grep -c '^RUN' "$file")
	local rounds=${BENCH_BUILDAH_ROUNDS:-3}
	local -a names=() bins=()
	local name bin
	for name in urun crun runc; do
		case $name in
		urun) [ -z "${URUN_SKIP:-}" ] || continue; bin=$URUN_BIN ;;
		*) bin=$(command -v "$name") ;;
		esac
		names+=("$name")
		bins+=("$bin")
	done
	# One storage per runtime, vfs, under the work dir. The build runs inside
	# `buildah unshare` (full subuid mapping + mount ns) with the cgroup2
	# mount hidden as for the runtime benchmarks (crun 1.8 needs it).
	cat >"$work/build1.sh" <<'EOF'
set -eu
if grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo; then
	mount -t tmpfs tmpfs /sys/fs/cgroup/unified
fi
t0=$(date +%s%N)
rc=0
buildah --root "$B_ROOT" --runroot "$B_RUNROOT" --storage-driver vfs --runtime "$B_RUNTIME" \
	build --isolation oci --network host --layers=false -f "$B_FILE" -t "$B_TAG" "$B_CTX" </dev/null >>"$B_LOG" 2>&1 || rc=$?
t1=$(date +%s%N)
echo "$(( (t1 - t0) / 1000 )) $rc"
buildah --root "$B_ROOT" --runroot "$B_RUNROOT" --storage-driver vfs rmi -f "$B_TAG" >/dev/null 2>&1 || true
EOF
	# A colleague's Containerfile builds FROM localhost/busybox:latest, which
	# e2e/import-base.sh makes without a registry: import it into each
	# runtime's storage first (not timed).
	local base_err=""
	if grep -q '^FROM localhost/busybox' "$file"; then
		for name in "${names[@]}"; do
			if ! sh "$repo/e2e/import-base.sh" --root "$work/bstore/$name/root" --runroot "$work/bstore/$name/run" \
				--storage-driver vfs </dev/null >>"$work/buildah-$name.log" 2>&1; then
				base_err="e2e/import-base.sh failed (see buildah-$name.log)"
			fi
		done
	fi
	declare -A times=() fails=() errs=()
	local r i
	for ((r = -1; r < rounds; r++)); do # round -1: warm-up, not counted
		for ((i = 0; i < ${#names[@]}; i++)); do
			local j=$(((i + r + 1) % ${#names[@]}))
			name=${names[$j]}
			if ((r < 0)); then
				say "buildah build ($nrun RUN steps) with $name, warm-up"
			else
				say "buildah build ($nrun RUN steps) with $name, round $((r + 1))/$rounds"
			fi
			local res us rc
			[ -z "$base_err" ] || { fails[$name]=$((${fails[$name]:-0} + 1)); errs[$name]=$base_err; continue; }
			res=$(B_ROOT=$work/bstore/$name/root B_RUNROOT=$work/bstore/$name/run B_RUNTIME=${bins[$j]} \
				B_FILE=$file B_CTX=$ctx B_TAG=localhost/bench-$name B_LOG=$work/buildah-$name.log \
				buildah --root "$work/bstore/$name/root" --runroot "$work/bstore/$name/run" --storage-driver vfs \
				unshare sh "$work/build1.sh" 2>>"$work/buildah-$name.log" </dev/null) || res="0 unshare-failed"
			us=${res% *}
			rc=${res#* }
			if [ "$rc" != 0 ]; then
				fails[$name]=$((${fails[$name]:-0} + 1))
				errs[$name]=$({ grep -i 'error running container' "$work/buildah-$name.log" ||
					grep -iE 'error|fail' "$work/buildah-$name.log"; } | tail -1 |
					sed 's/ creating container for \[[^]]*\]//' | tr '|' ' ' | cut -c1-240)
			elif ((r >= 0)); then
				times[$name]+="$us "
			fi
		done
	done
	{
		echo "### (e) \`buildah build\` of a $nrun-RUN-step Containerfile, wall s ($rounds interleaved builds after 1 warm-up; vfs; --network host; --layers=false)"
		echo
		if [ "$file" = "$work/buildctx/Containerfile" ]; then
			echo "Containerfile: bench/testdata/Containerfile.20run (FROM scratch, COPY of the busybox rootfs, $nrun RUN steps)"
		else
			echo "Containerfile: ${file#"$repo"/}"
		fi
		echo
		echo "| runtime | median (min–max) s | × crun | failures |"
		echo "|---|---|---|---|"
		local crun_med=""
		declare -A med=()
		for name in "${names[@]}"; do
			[ -z "${fails[$name]:-}" ] || continue
			med[$name]=$(printf '%s\n' ${times[$name]} | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}')
		done
		crun_med=${med[crun]:-}
		for name in urun crun runc; do
			if [ "$name" = urun ] && [ -n "${URUN_SKIP:-}" ]; then
				echo "| urun | $URUN_SKIP | — | — |"
				continue
			fi
			if [ -n "${fails[$name]:-}" ]; then
				echo "| $name | FAILED: ${errs[$name]:-see log} | — | **${fails[$name]}/$((rounds + 1))** |"
				continue
			fi
			local sorted mn mx
			sorted=$(printf '%s\n' ${times[$name]} | sort -n)
			mn=$(head -1 <<<"$sorted")
			mx=$(tail -1 <<<"$sorted")
			awk -v n="$name" -v m="${med[$name]}" -v lo="$mn" -v hi="$mx" -v c="$crun_med" -v k="$((rounds + 1))" 'BEGIN {
				r = (c > 0) ? sprintf("%.2f×", m / c) : "—"
				printf "| %s | %.2f (%.2f–%.2f) | %s | 0/%d |\n", n, m / 1e6, lo / 1e6, hi / 1e6, r, k }'
		done
		echo
	} >"$out"
	# The vfs layers belong to subordinate IDs: remove them from inside.
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		buildah unshare rm -rf "$work/bstore" </dev/null >/dev/null 2>&1 || true
	fi
}

# find_containerfile prints CTX:FILE of a colleague's 20-RUN Containerfile
# under e2e/testdata, if there is one.
find_containerfile() {
	local f
	[ -d "$repo/e2e/testdata" ] || return 0
	while IFS= read -r f; do
		if [ "$(grep -c '^RUN' "$f")" -ge 20 ]; then
			echo "$(dirname "$f"):$f"
			return 0
		fi
	done < <(find "$repo/e2e/testdata" -type f \( -iname '*containerfile*' -o -iname '*dockerfile*' \) | sort)
}

# ---------------------------------------------------------------------------
outer() {
	local me
	me=$(id -u)
	local -a need=()
	command -v crun >/dev/null || need+=(crun)
	command -v runc >/dev/null || need+=(runc)
	command -v hyperfine >/dev/null || need+=(hyperfine)
	[ -x /usr/bin/time ] || need+=(time)
	command -v newuidmap >/dev/null || need+=(uidmap)
	[ -x /bin/busybox ] || need+=(busybox-static)
	if ((${#need[@]})); then
		if [ "$me" = 0 ] && command -v apt-get >/dev/null; then
			say "installing missing Debian packages: ${need[*]} (apt-get install -y --no-install-recommends)"
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
		else
			die "missing: ${need[*]}; install them (e.g. apt-get install ${need[*]}) or run this as root"
		fi
	fi
	command -v go >/dev/null || die "go is needed to build bench/cmd/benchtool"

	local user
	if [ "$me" = 0 ]; then
		user=${BENCH_USER:-urunsub}
		if ! id -u "$user" >/dev/null 2>&1; then
			[ "$user" = urunsub ] || die "account $user does not exist"
			say "creating the unprivileged accounts (scripts/setup-accounts.sh)"
			sh "$repo/scripts/setup-accounts.sh" >&2
		fi
	else
		user=$(id -un)
	fi

	URUN_BIN=${URUN_BIN:-$repo/bin/urun}
	case $URUN_BIN in /*) ;; *) URUN_BIN=$PWD/$URUN_BIN ;; esac
	URUN_SKIP=
	[ -x "$URUN_BIN" ] || URUN_SKIP="not built"

	local work
	work=$(mktemp -d /tmp/urun-bench.XXXXXX)
	chmod 755 "$work"
	# shellcheck disable=SC2064
	[ "${BENCH_KEEP:-0}" = 1 ] || trap "rm -rf '$work' 2>/dev/null || true" EXIT
	say "work dir $work; running as $user"
	(cd "$repo" && CGO_ENABLED=0 go build -buildvcs=false -trimpath -tags bench -o "$work/benchtool" ./bench/cmd/benchtool) ||
		die "building bench/cmd/benchtool failed"

	local -a as_user=()
	if [ "$me" = 0 ]; then
		chown "$user:" "$work"
		as_user=(runuser -u "$user" --)
		if [ -z "$URUN_SKIP" ] && ! runuser -u "$user" -- test -x "$URUN_BIN"; then
			URUN_SKIP="not executable by $user: $URUN_BIN"
		fi
	fi

	# Versions.
	local v_urun v_crun v_runc v_buildah
	if [ -z "$URUN_SKIP" ]; then
		v_urun=$("$URUN_BIN" --version 2>&1 | head -1) || v_urun="($URUN_BIN --version failed: $v_urun)"
	else
		v_urun=$URUN_SKIP
	fi
	v_crun=$(crun --version | head -1)
	v_runc=$(runc --version | head -1)
	v_buildah=$(buildah --version 2>/dev/null || echo "not installed")

	local -a envv=(env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		"URUN_BIN=$URUN_BIN" "URUN_SKIP=$URUN_SKIP")
	local v
	for v in BENCH_N BENCH_CYCLES BENCH_RSS BENCH_SEQ BENCH_CONC BENCH_CONC_ROUNDS BENCH_HYPERFINE BENCH_HF_RUNS BENCH_BUILDAH_ROUNDS; do
		[ -z "${!v:-}" ] || envv+=("$v=${!v}")
	done

	"${as_user[@]}" "${envv[@]}" unshare -Urm bash "$here/bench.sh" inner "$work" ||
		die "benchmark run failed (work dir $work)"

	if [ "${BENCH_BUILDAH:-1}" = 1 ] && command -v buildah >/dev/null; then
		local home
		home=$(getent passwd "$user" | cut -d: -f6)
		"${as_user[@]}" "${envv[@]}" "HOME=$home" "USER=$user" "LOGNAME=$user" bash "$here/bench.sh" buildah "$work" ||
			printf '### (e) buildah build\n\nharness error (see buildah-*.log in the work dir; BENCH_KEEP=1 keeps it)\n\n' >"$work/buildah.md"
	elif ! command -v buildah >/dev/null; then
		printf '### (e) buildah build\n\nbuildah is not installed: skipped.\n\n' >"$work/buildah.md"
	fi

	# (g) HPC (issue 18): mpirun launch time and ping-pong, as urunnosub.
	if [ "${BENCH_HPC:-1}" = 1 ]; then
		URUN_BIN=$URUN_BIN bash "$here/hpc.sh" "$work/hpc.md" ||
			printf '### HPC\n\nharness error (bench/hpc.sh)\n\n' >"$work/hpc.md"
	fi

	local outf=${BENCH_OUT:-$here/results.md}
	{
		echo "# urun benchmark"
		echo
		echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
		echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
		echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "- urun: $v_urun ($URUN_BIN)"
		echo "- crun: $v_crun"
		echo "- runc: $v_runc"
		echo "- buildah: $v_buildah"
		echo "- run as: $user, inside one \`unshare -Urm\` (uid 0 in a user+mount namespace); contenders interleaved round-robin"
		sed 's/^/- /' "$work/env.txt" 2>/dev/null || true
		echo "- timing: bench/cmd/benchtool, fork+exec+wait4 per operation, monotonic clock (see bench/README.md)"
		echo "- floor: \`unshare --user --map-root-user --mount /bin/true\` run from the same namespace"
		echo
		cat "$work/tables.md"
		[ ! -f "$work/buildah.md" ] || cat "$work/buildah.md"
		[ ! -f "$work/hpc.md" ] || { echo; cat "$work/hpc.md"; }
	} >"$work/results.md"
	cat "$work/results.md"
	if cp "$work/results.md" "$outf" 2>/dev/null; then
		say "results written to $outf"
	else
		cp "$work/results.md" "/tmp/urun-bench-results.md"
		say "cannot write $outf; results written to /tmp/urun-bench-results.md"
	fi
	# (f) exec: its own script, which appends its section to the results.
	if [ "${BENCH_EXEC:-1}" = 1 ] && [ -z "${URUN_SKIP:-}" ] && [ "$(id -u)" = 0 ]; then
		BENCH_OUT=$outf bash "$here/exec.sh" || say "exec section (bench/exec.sh) failed"
	fi
}

case $mode in
outer) outer ;;
inner) inner "$2" ;;
buildah) buildah_part "$2" ;;
*) die "usage: bench/bench.sh" ;;
esac

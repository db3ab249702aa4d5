#!/bin/bash
# bench/hpc.sh OUT.md: the HPC part of `make bench` (issue 18), as root.
# As the account urunnosub (no subuid range, the usual HPC account):
#   - per-job launch time of `mpirun -np N CONTENDER true`, N = 2, 4, 8,
#     for bare, ch-run (Charliecloud) and `urun launch`, interleaved
#     round-robin, BENCH_HPC_N rounds, median; per-rank overhead = (job -
#     bare) / N;
#   - ping-pong (testdata/mpi/pingpong.c) 1 KiB latency and 1 MiB bandwidth,
#     bare and urun launch, median of BENCH_HPC_PP runs each.
# Installs openmpi-bin, libopenmpi-dev and charliecloud-runtime when missing.
set -euo pipefail
out=${1:?usage: bench/hpc.sh OUT.md}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
urun=${URUN_BIN:?URUN_BIN must name the urun binary}
rounds=${BENCH_HPC_N:-10}
pprounds=${BENCH_HPC_PP:-5}
user=urunnosub
say() { printf 'bench-hpc: %s\n' "$*" >&2; }
missing=
for p in openmpi-bin libopenmpi-dev charliecloud-runtime; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null
fi
work=$(mktemp -d /tmp/urun-bench-hpc.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp "$urun" "$work/urun"
chmod 755 "$work/urun"
sh "$repo/scripts/mkmpiimage.sh" "$work/img" "$user" >/dev/null
as() { su "$user" -s /bin/bash -c "cd $work && $*"; }
contenders=(bare ch-run urun join)
cmd() { # contender: the rank's command prefix
	case $1 in
	bare) echo "" ;;
	ch-run) echo "ch-run $work/img --" ;;
	urun) echo "$work/urun launch $work/img --" ;;
	join) echo "$work/urun launch --join $work/img --" ;;
	esac
}
# One job's wall time in ns, as the account (the su is outside the timing).
cat >"$work/time.sh" <<'T'
#!/bin/bash
s=$(date +%s%N); "$@" >/dev/null 2>&1 || echo "fail $?" >&2; e=$(date +%s%N); echo $((e - s))
T
chmod 755 "$work/time.sh"
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
{
	echo "### (g) HPC: \`mpirun -np N CONTENDER true\` per job (as $user, $rounds interleaved rounds, median ms; overhead per rank vs bare)"
	echo
	echo "| N | bare | ch-run | urun launch | urun launch --join | per rank: ch-run − bare | urun − bare | --join − bare | urun ÷ ch-run | --join ÷ ch-run |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$out"
for n in 2 4 8; do
	for c in "${contenders[@]}"; do : >"$work/t.$n.$c"; done
	for r in $(seq "$rounds"); do
		for c in "${contenders[@]}"; do
			as "./time.sh mpirun --oversubscribe -np $n $(cmd "$c") /bin/true" >>"$work/t.$n.$c"
		done
	done
	b=$(median <"$work/t.$n.bare"); h=$(median <"$work/t.$n.ch-run"); u=$(median <"$work/t.$n.urun"); j=$(median <"$work/t.$n.join")
	awk -v n="$n" -v b="$b" -v h="$h" -v u="$u" -v j="$j" 'BEGIN {
		ho = (h - b) / n / 1e6; uo = (u - b) / n / 1e6; jo = (j - b) / n / 1e6
		printf "| %d | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %s | %s |\n", n, b / 1e6, h / 1e6, u / 1e6, j / 1e6, ho, uo, jo,
			(ho > 0 ? sprintf("%.2f×", uo / ho) : "—"), (ho > 0 ? sprintf("%.2f×", jo / ho) : "—")
	}' >>"$out"
	say "N=$n done"
done
{
	echo
	echo "### (g′) HPC: ping-pong between 2 ranks (median of $pprounds runs; 1 KiB latency µs, 1 MiB bandwidth MB/s)"
	echo
	echo "| contender | 1 KiB latency µs | × bare | 1 MiB MB/s | × bare |"
	echo "|---|---|---|---|---|"
} >>"$out"
declare -A lat bw
for c in bare urun join; do
	: >"$work/lat.$c"; : >"$work/bw.$c"
done
for r in $(seq "$pprounds"); do
	for c in bare urun join; do
		prog=/pingpong
		[ "$c" = bare ] && prog=$work/img/pingpong
		as "mpirun --oversubscribe -np 2 $(cmd "$c") $prog 2>/dev/null" >"$work/pp.out" || say "ping-pong with $c failed"
		awk '/^pingpong 1024 bytes/ {print $4}' "$work/pp.out" >>"$work/lat.$c"
		awk '/^pingpong 1048576 bytes/ {print $6}' "$work/pp.out" >>"$work/bw.$c"
	done
done
for c in bare urun join; do
	lat[$c]=$(median <"$work/lat.$c"); bw[$c]=$(median <"$work/bw.$c")
done
for c in bare urun join; do
	awk -v c="$c" -v l="${lat[$c]}" -v b="${bw[$c]}" -v lb="${lat[bare]}" -v bb="${bw[bare]}" \
		'BEGIN {printf "| %s | %.2f | %.2f× | %.0f | %.2f× |\n", c, l, l / lb, b, b / bb}' >>"$out"
done
cat "$out"

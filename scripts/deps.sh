#!/bin/sh
# deps.sh: installs what the test suites need and creates the test accounts.
# Idempotent; `make test` runs it first.
#   - as root: apt-get update (once, only if something is missing) and
#     apt-get install -y for whichever package of the list below is
#     missing, then scripts/setup-accounts.sh;
#   - not root: exits 1 with the command to run if something is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# has PKG: the Debian package is installed, or (no dpkg) what we use from it is there.
has() {
	if command -v dpkg-query >/dev/null 2>&1; then
		dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' && return 0
	fi
	case $1 in
	buildah) command -v buildah >/dev/null 2>&1 ;;
	podman) command -v podman >/dev/null 2>&1 && command -v conmon >/dev/null 2>&1 ;;
	slirp4netns | catatonit | gcc) command -v "$1" >/dev/null 2>&1 ;;
	procps) command -v ps >/dev/null 2>&1 ;;
	uidmap) command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1 ;;
	busybox-static) [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ;;
	containerd) command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 ;;
	docker.io) command -v dockerd >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

# The packages, one line each with what needs it:
pkgs="
buildah
uidmap
busybox-static
podman
slirp4netns
catatonit
containerd
docker.io
openmpi-bin
libopenmpi-dev
gcc
slurm-wlm
munge
procps
"
# buildah, uidmap, busybox-static: the integration and e2e tests
# podman slirp4netns catatonit: e2e hooks, terminal, exec and network tests
# containerd docker.io: the client tests (clients/); docker.io without its
#   recommends (~6 s)
# openmpi-bin libopenmpi-dev slurm-wlm munge: the HPC tests (e2e/hpc_test.go);
# gcc: `make unit` runs go test -race, which needs cgo and so a C compiler;
#   mpicc and scripts/mkmpiimage.sh call it too (libopenmpi-dev brings it
#   only through a Recommends, which CI images often turn off)
# procps: urun ps runs ps(1) (tests/clients_test.go); minimal images lack it
pkgs=$(echo $pkgs)

missing=
for pkg in $pkgs; do
	has "$pkg" || missing="$missing $pkg"
done
missing=${missing# }

if [ "$(id -u)" != 0 ]; then
	if [ -n "$missing" ]; then
		echo "deps.sh: missing packages: $missing" >&2
		echo "deps.sh: install them as root: sudo apt-get install -y $missing (or: sudo scripts/deps.sh, which also creates the test accounts)" >&2
		exit 1
	fi
	for u in urunsub urunnosub; do
		id -u "$u" >/dev/null 2>&1 || echo "deps.sh: note: test account $u is missing; create it with: sudo scripts/setup-accounts.sh" >&2
	done
	echo "deps.sh: packages present (not root: accounts not checked/changed)"
	exit 0
fi

if [ -n "$missing" ]; then
	command -v apt-get >/dev/null 2>&1 || { echo "deps.sh: missing packages: $missing, and no apt-get on this machine" >&2; exit 1; }
	echo "deps.sh: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	rest=$(echo "$missing" | sed 's/docker\.io//')
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	[ -z "${rest# }" ] || apt-get install -y $rest
	case " $missing " in *" docker.io "*) apt-get install -y --no-install-recommends docker.io ;; esac
	for pkg in $missing; do
		has "$pkg" || { echo "deps.sh: $pkg still missing after apt-get install" >&2; exit 1; }
	done
else
	echo "deps.sh: $pkgs already installed"
fi

sh "$here/setup-accounts.sh"

#!/bin/sh
# mkmpiimage.sh DIR [OWNER]: an MPI image for the HPC tests: the busybox
# rootfs of mkrootfs.sh plus /pingpong (testdata/mpi/pingpong.c built with
# the host's mpicc) and the libraries and Open MPI/PMIx plugins it loads,
# copied from the host, so the ranks inside speak the host mpirun's and
# slurmd's PMIx version. OWNER (as root): chown the image to that account,
# as an HPC user's own unpacked image is.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
sh "$here/mkrootfs.sh" "$dir"
# Merged /usr like the host (Debian 12): /lib -> usr/lib, so that the
# loader's and libraries' absolute symlinks resolve inside the image too.
for d in lib lib64; do
	if [ -L "/$d" ]; then mkdir -p "$dir/usr/$d" && ln -sfn "usr/$d" "$dir/$d"; fi
done
mpicc -O2 -o "$dir/pingpong" "$here/../testdata/mpi/pingpong.c"
copy() { # copy PATH (file or directory) to the same path in the image
	[ -e "$1" ] || return 0
	mkdir -p "$dir$(dirname "$1")"
	cp -a "$1" "$dir$(dirname "$1")/"
}
lib=/usr/lib/$(gcc -print-multiarch)
for p in "$lib/openmpi" "$lib/pmix2" /usr/share/openmpi /usr/share/pmix /etc/openmpi /etc/ld.so.conf /etc/ld.so.conf.d /etc/ld.so.cache; do copy "$p"; done
# The dynamic loader and every library pingpong or a plugin needs.
for f in "$dir/pingpong" $(find "$dir$lib/openmpi" "$dir$lib/pmix2" -name '*.so*' -type f 2>/dev/null); do
	ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}'
done | sort -u | while read -r so; do
	copy "$so"
	copy "$(readlink -f "$so")"
done
if [ $# -ge 2 ]; then chown -R "$2": "$dir"; fi

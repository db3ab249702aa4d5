#!/bin/sh
# import-base.sh [BUILDAH-GLOBAL-FLAGS...]: creates localhost/busybox:latest in
# the caller's buildah storage from Debian's busybox-static, without any
# registry (buildah from scratch + copy + config + commit). Does nothing when
# the image is already there. Run it as the account that will build, e.g.
#   e2e/import-base.sh                      # default storage
#   e2e/import-base.sh --root DIR --runroot DIR2 --storage-driver vfs
# The e2e suite does the same in Go; the benchmarks and `make demo-build` use this.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
image=localhost/busybox:latest
if buildah "$@" inspect --type image "$image" >/dev/null 2>&1; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkrootfs=$here/../scripts/mkrootfs.sh
[ -f "$mkrootfs" ] || mkrootfs=$here/mkrootfs.sh # a staged copy (demo.sh)
sh "$mkrootfs" "$tmp/rootfs"
ctr=$(buildah "$@" from scratch)
buildah "$@" copy "$ctr" "$tmp/rootfs/" / >/dev/null
buildah "$@" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$ctr"
buildah "$@" commit --quiet --rm "$ctr" "$image" >/dev/null
echo "import-base: created $image" >&2

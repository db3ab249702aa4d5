#!/bin/sh
# demo.sh URUN: runs the default bundle (testdata/bundles/busybox/config.json
# on a busybox-static rootfs) with `urun run`. As root it runs it as the
# unprivileged test account urunsub, from a staging directory that account
# can read wherever this checkout lives: rootless is the point.
set -eu
urun=${1:?usage: demo.sh /path/to/urun}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x /bin/busybox ] && [ "$(id -u)" = 0 ]; then
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static
fi
stage=$(mktemp -d /tmp/urun-demo.XXXXXX)
trap 'rm -rf "$stage"' EXIT
sh "$here/scripts/mkrootfs.sh" "$stage/bundle/rootfs"
cp "$here/testdata/bundles/busybox/config.json" "$stage/bundle/config.json"
cp "$urun" "$stage/urun"
chmod 755 "$stage" "$stage/bundle"
if [ "$(id -u)" = 0 ]; then
	sh "$here/scripts/setup-accounts.sh" >/dev/null
	chown -R urunsub "$stage"
	echo "+ runuser -u urunsub -- urun run --bundle $stage/bundle demo"
	runuser -u urunsub -- "$stage/urun" --root "$stage/state" run --bundle "$stage/bundle" demo
else
	echo "+ urun run --bundle $stage/bundle demo"
	"$stage/urun" --root "$stage/state" run --bundle "$stage/bundle" demo
fi

#!/bin/sh
# demo.sh URUN: builds e2e/demo/Containerfile with `buildah --runtime=URUN`,
# as a newcomer would. As root it runs the build as the test account urunsub
# (created by scripts/setup-accounts.sh) from a login shell, with copies of
# the files it needs in a temporary directory the account can read.
set -eu
urun=${1:?usage: demo.sh /absolute/path/to/urun}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$urun" ] || { echo "demo: $urun not found: run make build first" >&2; exit 1; }
command -v buildah >/dev/null || { echo "demo: buildah missing: run scripts/deps.sh as root" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
	id -u urunsub >/dev/null 2>&1 || { echo "demo: account urunsub missing: run scripts/setup-accounts.sh" >&2; exit 1; }
	stage=$(mktemp -d /tmp/urun-demo.XXXXXX)
	trap 'rm -rf "$stage"' EXIT
	mkdir "$stage/demo"
	cp "$urun" "$stage/urun"
	cp "$here/demo.sh" "$here/import-base.sh" "$here/../scripts/mkrootfs.sh" "$stage/"
	cp "$here/demo/Containerfile" "$stage/demo/"
	chmod -R a+rX "$stage"
	echo "demo: running as urunsub: buildah --runtime=$stage/urun build ..."
	runuser -l urunsub -c "sh $stage/demo.sh $stage/urun" </dev/null
	exit
fi

sh "$here/import-base.sh" </dev/null
echo "+ buildah --runtime=$urun build --network=host -t localhost/urun-demo $here/demo"
start=$(date +%s.%N)
buildah --runtime="$urun" build --network=host -t localhost/urun-demo "$here/demo" </dev/null
end=$(date +%s.%N)
echo "demo: build took $(echo "$end - $start" | bc 2>/dev/null || awk "BEGIN{print $end - $start}")s"

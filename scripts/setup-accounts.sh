#!/bin/sh
# Creates the two unprivileged accounts the tests run urun as, when absent:
#   urunsub   - has /etc/subuid and /etc/subgid ranges (like a desktop user)
#   urunnosub - has none (like many HPC accounts)
# Needs root. Idempotent.
set -eu
[ "$(id -u)" = 0 ] || { echo "setup-accounts: must run as root" >&2; exit 1; }
for u in urunsub urunnosub; do
	id -u "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$u"
done
touch /etc/subuid /etc/subgid
# A range that does not collide with ranges useradd may have allocated.
for f in /etc/subuid /etc/subgid; do
	sed -i '/^urunnosub:/d' "$f"
	grep -q '^urunsub:' "$f" || echo "urunsub:300000:65536" >>"$f"
done
# The accounts need to traverse into the checkout to exec bin/urun and read bundles.
echo "setup-accounts: urunsub=$(id -u urunsub) urunnosub=$(id -u urunnosub)"

#!/bin/sh
# mkrootfs.sh DIR: builds a minimal busybox rootfs from Debian's busybox-static.
set -eu
out=${1:?usage: mkrootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing: apt-get install busybox-static" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' || { echo "mkrootfs: $bb is not static: apt-get install busybox-static" >&2; exit 1; }
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cd "$out.tmp"
mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp root home run var/tmp
chmod 1777 tmp var/tmp
cp "$bb" bin/busybox
for applet in $(./bin/busybox --list); do
	[ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >etc/passwd
printf 'root:x:0:\nuser:x:1000:\ntty:x:5:\nnogroup:x:65534:\n' >etc/group
: >etc/hosts; : >etc/resolv.conf; echo urun >etc/hostname
cd - >/dev/null
chmod -R a+rX "$out.tmp"
rm -rf "$out" && mv "$out.tmp" "$out"

#!/bin/bash
# Build the kernel's iommufd selftests (tools/testing/selftests/iommu of
# Debian's linux-source-6.12) into OUTDIR: OUTDIR/iommufd and
# OUTDIR/iommufd_fail_nth.
#
#   tools/build-iommufd-selftests.sh OUTDIR SRCDIR
#
# The source comes from $LINUX_SOURCE_TARBALL, else
# /usr/src/linux-source-6.12.tar.xz, else `apt-get download linux-source-6.12`
# into $UVFIO_CACHE (default ~/.cache/uvfio) -- once; later builds reuse it.
# The suite is built unmodified but for the header additions that
# clients.md 5.1 lists (Debian's 6.12.117 carries 6.17 test code): the uapi
# headers are the project's own include/uapi (they have the 6.17 GET_HW_INFO
# fields), and iommufd_test.h gains MOCK_FLAGS_DEVICE_PASID and
# MOCK_PASID_WIDTH.
#
# When the source cannot be had, each output is a script that reports the
# reason as a failing TAP case: a missing suite is never a pass.
set -eu
mkdir -p "$1"
out=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
version=6.12
members=(
	"tools/testing/selftests/iommu"
	"tools/testing/selftests/kselftest.h"
	"tools/testing/selftests/kselftest_harness.h"
	"drivers/iommu/iommufd/iommufd_test.h"
)
mkdir -p "$out"
work="$out/kselftest-src"

bail() {
	for t in iommufd iommufd_fail_nth; do
		printf '#!/bin/sh\necho "1..1"\necho "not ok 1 %s: %s"\nexit 1\n' "$t" "$1" >"$out/$t"
		chmod +x "$out/$t"
	done
	echo "build-iommufd-selftests: $1" >&2
	exit 0
}

find_tarball() {
	local cache=${UVFIO_CACHE:-${HOME:-/root}/.cache/uvfio} deb
	if [ -n "${LINUX_SOURCE_TARBALL:-}" ] && [ -f "$LINUX_SOURCE_TARBALL" ]; then
		echo "$LINUX_SOURCE_TARBALL"; return
	fi
	if [ -f /usr/src/linux-source-$version.tar.xz ]; then
		echo /usr/src/linux-source-$version.tar.xz; return
	fi
	if [ -f "$cache/linux-source-$version.tar.xz" ]; then
		echo "$cache/linux-source-$version.tar.xz"; return
	fi
	mkdir -p "$cache"
	# Package lists may be missing or stale on a machine that had nothing
	# to install: refresh them once (as root) and try again.
	(cd "$cache" && apt-get download -q linux-source-$version >&2) ||
		{ [ "$(id -u)" = 0 ] && apt-get update -q >&2 &&
		  (cd "$cache" && apt-get download -q linux-source-$version >&2); } || return 1
	deb=$(ls -t "$cache"/linux-source-${version}_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || return 1
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO ./usr/src/linux-source-$version.tar.xz >"$cache/linux-source-$version.tar.xz.part"
	mv "$cache/linux-source-$version.tar.xz.part" "$cache/linux-source-$version.tar.xz"
	rm -f "$deb"
	echo "$cache/linux-source-$version.tar.xz"
}

tarball=$(find_tarball) || bail "linux-source-$version unavailable (apt-get download failed)"
rm -rf "$work"
mkdir -p "$work"
tar -xJf "$tarball" -C "$work" --strip-components=1 --wildcards \
	$(printf "linux-source-$version/%s " "${members[@]}") ||
	bail "cannot extract the selftests from $tarball"

# The additions of clients.md 5.1, nothing else.
test_h="$work/drivers/iommu/iommufd/iommufd_test.h"
grep -q MOCK_FLAGS_DEVICE_PASID "$test_h" || sed -i 's|^#endif|/* uvfio: what the 6.12.117 selftests use and this header lacks */\n#define MOCK_FLAGS_DEVICE_PASID (1 << 2)\n#define MOCK_PASID_WIDTH 20\n#endif|' "$test_h"

cd "$work/tools/testing/selftests/iommu"
for t in iommufd iommufd_fail_nth; do
	gcc -Wall -O2 -Wno-unused-function -D_GNU_SOURCE -isystem "$src/include/uapi" \
		"$t.c" -o "$out/$t.new" || bail "$t.c does not build"
	mv "$out/$t.new" "$out/$t"
done

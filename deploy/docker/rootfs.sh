#!/bin/sh
# Assembles a minimal root filesystem in $1 ("distroless"): the given files and directories (copied with their
# paths), every shared library their ELF files need (the ldd closure), and the few /etc files a non-root
# process needs. No shell, no package manager, no compilers end up in it. Runs in a build stage.
set -eu
root=$1
shift
mkdir -p "$root"
for path in "$@"; do
    mkdir -p "$root$(dirname "$path")"
    cp -a "$path" "$root$path"
done

# Libraries glibc loads by name at run time (ldd cannot see them): thread cancellation, backtraces.
extra_libs=$(ls /lib/x86_64-linux-gnu/libgcc_s.so.1 2>/dev/null || true)
# Time zones (Arrow and zoneinfo read them): the plain set, not the duplicate right/ and posix/ trees.
rm -rf "$root/usr/share/zoneinfo/right" "$root/usr/share/zoneinfo/posix"

# The ldd closure of every ELF object copied above (programs, extension modules, bundled libraries), one ldd
# call per batch of files (scripts among them only make ldd complain on stderr).
find "$root" -type f \( -name '*.so' -o -name '*.so.*' -o -path '*/bin/*' -o -path '*/sbin/*' \) \
    -exec ldd {} + 2>/dev/null \
    | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' \
    | sort -u \
    | while read -r lib; do
        case $lib in "$root"*) continue ;; esac   # bundled in a wheel (copied already)
        echo "$lib"
    done >/tmp/libs.txt
for lib in $(cat /tmp/libs.txt) $extra_libs; do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# The dynamic loader under the name programs ask for.
mkdir -p "$root/lib64"
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
# usrmerge: /lib -> usr/lib as in Debian (ldd may print either form).
if [ -d "$root/lib/x86_64-linux-gnu" ] && [ ! -L "$root/lib" ]; then
    mkdir -p "$root/usr/lib"
    cp -a "$root/lib/." "$root/usr/lib/"
    rm -rf "$root/lib"
    ln -s usr/lib "$root/lib"
fi

# The non-root user (UID/GID 1001), its writable home (/tmp, a volume at run time), no login shell.
mkdir -p "$root/etc" "$root/tmp" "$root/data"
chmod 1777 "$root/tmp"
chown 1001:1001 "$root/data"
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1001:1001:app:/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\napp:x:1001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

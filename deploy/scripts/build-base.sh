#!/usr/bin/env bash
# The local base image: Debian bookworm (minbase) made with debootstrap and imported into podman, since no
# registry's base images can be pulled here. The root filesystem tarball is cached, so a wiped podman store
# re-imports it in seconds; delete RECON_IMAGE_CACHE to make it again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/scripts/podman-env.sh
. "$here/podman-env.sh"
ensure_container_tools

if "${PODMAN[@]}" image exists "$BASE_TAG"; then
    exit 0
fi
mkdir -p "$RECON_IMAGE_CACHE"
tarball="$RECON_IMAGE_CACHE/bookworm-minbase.tar"
if [[ ! -s $tarball ]]; then
    root=$(mktemp -d "$RECON_IMAGE_CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    echo "debootstrap --variant=minbase bookworm (a few minutes, once)" >&2
    debootstrap --variant=minbase bookworm "$root" >"$RECON_IMAGE_CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$RECON_IMAGE_CACHE/debootstrap.log" >&2; exit 1; }
    # Image hygiene: no apt lists or caches in the base layer.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi
"${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' "$tarball" "$BASE_TAG" >/dev/null
echo "base image $BASE_TAG" >&2

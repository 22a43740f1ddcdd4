# Sourced by the deploy scripts: podman as it works on the project's machines (runc, cgroupfs, explicit ulimits).
# shellcheck shell=bash
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
# Survives between local runs: the debootstrap root filesystem (as a tarball) and build caches.
RECON_IMAGE_CACHE=${RECON_IMAGE_CACHE:-/var/cache/recon-images}
BASE_TAG=${RECON_BASE_TAG:-localhost/recon-base:bookworm}

# podman, runc and debootstrap come from Debian; install them when missing (the machines run as root).
ensure_container_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ((${#missing[@]})); then
        echo "installing ${missing[*]} (apt)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

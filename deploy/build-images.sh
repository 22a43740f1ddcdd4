#!/usr/bin/env bash
# Builds the images with podman (runc, cgroupfs) from a local Debian base made with debootstrap:
#   localhost/reconciliation-backend:latest   recon serve (no data stack)
#   localhost/reconciliation-worker:latest    recon worker (with the engine)
#   localhost/reconciliation-frontend:latest  nginx + the SPA (frontend/, or the stand-in deploy/docker/smoke-spa)
# and writes each image's CycloneDX SBOM to deploy/out/sbom/. Usage: deploy/build-images.sh [api] [worker]
# [frontend] (default: all). Layers and the uv/npm caches persist in podman's store and RECON_IMAGE_CACHE, so
# a rebuild without changes takes seconds; an image whose inputs (the files of its build context) have not
# changed since it was built is not even rebuilt (`make images` and then each test session of the same CI
# run: ~50 s saved each time). RECON_REBUILD_IMAGES=1 rebuilds regardless.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=deploy/scripts/podman-env.sh
. "$repo/deploy/scripts/podman-env.sh"
"$repo/deploy/scripts/build-base.sh"

targets=("$@")
((${#targets[@]})) || targets=(api worker frontend)
out="$repo/deploy/out/sbom"
mkdir -p "$out"
ca=/etc/ssl/certs/ca-certificates.crt
build=("${PODMAN[@]}" build --format docker --layers --network host "${ULIMITS[@]}"
       --build-arg "BASE_IMAGE=$BASE_TAG")
# The host's CA bundle joins the build stages' trust store (registries may sit behind a TLS-inspecting proxy).
[[ -s $ca ]] && build+=(-v "$ca:/usr/local/share/ca-certificates/build-host.crt:ro")

# A digest of an image's build inputs (what its Containerfile COPYs; not caches, builds or bytecode): the
# backend images' and the frontend's are separate, so a change to one side does not rebuild the other.
inputs_digest() {
    local paths=(.dockerignore deploy/docker)
    if [[ $1 == frontend ]]; then
        [[ -d $repo/frontend ]] && paths+=(frontend)
        [[ -n ${RECON_FRONTEND_SRC:-} ]] && paths+=("$RECON_FRONTEND_SRC")
    else
        paths+=(pyproject.toml uv.lock alembic.ini src migrations)
    fi
    (cd "$repo" && find "${paths[@]}" \
        \( -name node_modules -o -name dist -o -name __pycache__ \) -prune -o -type f -print \
        | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-32)
}
stamp_dir="$repo/deploy/out/stamps"
mkdir -p "$stamp_dir"

up_to_date() {  # target, tag: built from these inputs, and the tag still names that build
    local stamp="$stamp_dir/$1"
    [[ ${RECON_REBUILD_IMAGES:-} != 1 && -f $stamp ]] || return 1
    [[ $(cat "$stamp") == "$digest $("${PODMAN[@]}" image inspect --format '{{.Id}}' "$2" 2>/dev/null)" ]]
}

node_image() {
    local tag=localhost/recon-node:20 ctx
    if "${PODMAN[@]}" image exists "$tag"; then return; fi
    command -v node >/dev/null || { echo "Node.js 20 is needed to build the SPA image" >&2; exit 1; }
    ctx=$(mktemp -d)
    cp "$(readlink -f "$(command -v node)")" "$ctx/node"
    cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$ctx/npm"
    "${build[@]}" -f "$repo/deploy/docker/node-local.Containerfile" -t "$tag" "$ctx" >&2
    rm -rf "$ctx"
}

sbom() {  # image, file inside the image
    local id
    id=$("${PODMAN[@]}" create --no-healthcheck "$1")
    "${PODMAN[@]}" cp "$id:$2" "$out/" >/dev/null
    "${PODMAN[@]}" rm "$id" >/dev/null
}

declare -A tags=([api]=localhost/reconciliation-backend:latest [worker]=localhost/reconciliation-worker:latest
                 [frontend]=localhost/reconciliation-frontend:latest)
for target in "${targets[@]}"; do
    started=$SECONDS
    digest=$(inputs_digest "$target")
    if [[ -n ${tags[$target]:-} ]] && up_to_date "$target" "${tags[$target]}"; then
        printf '%s\tup to date (inputs %s)\n' "${tags[$target]}" "${digest:0:12}"
        continue
    fi
    case $target in
        api)
            tag=localhost/reconciliation-backend:latest
            "${build[@]}" -f "$repo/deploy/docker/backend.Containerfile" --target api -t "$tag" "$repo" >&2
            sbom "$tag" /usr/share/sbom/recon-api.cdx.json
            ;;
        worker)
            tag=localhost/reconciliation-worker:latest
            "${build[@]}" -f "$repo/deploy/docker/backend.Containerfile" --target worker -t "$tag" "$repo" >&2
            sbom "$tag" /usr/share/sbom/recon-worker.cdx.json
            ;;
        frontend)
            tag=localhost/reconciliation-frontend:latest
            # The SPA comes from frontend/ (RECON_FRONTEND_SRC: another checkout's, a trial before it is
            # merged); without one, from the dependency-free stand-in deploy/docker/smoke-spa, so the image,
            # its nginx and the stack tests exist before the web UI does. Both go through the same node stage.
            context=$repo
            spa_src=${RECON_FRONTEND_SRC:-}
            if [[ -z $spa_src && ! -f $repo/frontend/package.json ]]; then
                spa_src=$repo/deploy/docker/smoke-spa
                echo "no frontend/package.json: the frontend image serves the stand-in SPA" >&2
            fi
            if [[ -n $spa_src ]]; then
                context=$(mktemp -d)
                trap 'rm -rf "$context"' EXIT
                mkdir -p "$context/deploy" "$context/frontend"
                cp -a "$repo/deploy/docker" "$context/deploy/"
                cp "$repo/.dockerignore" "$context/"
                (cd "$spa_src" && tar --exclude=node_modules --exclude=dist -cf - .) \
                    | tar -C "$context/frontend" -xf -
            fi
            node_image
            "${build[@]}" --build-arg NODE_IMAGE=localhost/recon-node:20 \
                -f "$context/deploy/docker/frontend.Containerfile" -t "$tag" "$context" >&2
            ;;
        *) echo "unknown image $target (api, worker, frontend)" >&2; exit 2 ;;
    esac
    echo "$digest $("${PODMAN[@]}" image inspect --format '{{.Id}}' "$tag")" >"$stamp_dir/$target"
    size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$tag")
    printf '%s\t%d MB\tbuilt in %ds\n' "$tag" $((size / 1000000)) $((SECONDS - started))
done

#!/usr/bin/env bash
# The frontend's toolchain, installed once per machine and refreshed when the lock changes:
#   ensure-frontend.sh deps     node modules (`npm ci`, never a browser download) and Debian's chromium
#   ensure-frontend.sh build    frontend/dist, rebuilt when missing or older than any source file
# Idempotent and quiet when everything is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
front=$root/frontend
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

deps() {
    if ! command -v npm >/dev/null; then
        echo "npm is missing: install Node.js 20 (apt-get install -y nodejs npm)" >&2
        exit 1
    fi
    # node_modules/.package-lock.json is written by npm ci: older than the lock means the lock changed.
    if [[ ! -f $front/node_modules/.package-lock.json || $front/package-lock.json -nt $front/node_modules/.package-lock.json ]]; then
        echo "installing the frontend's node modules (npm ci)" >&2
        (cd "$front" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    if ! command -v chromium >/dev/null; then
        echo "installing chromium (apt) for the browser tests" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
}

build() {
    local index=$front/dist/index.html
    if [[ -f $index ]] && [[ -z $(find "$front/src" "$front/public" "$front/index.html" "$front/package-lock.json" \
        "$front/vite.config.ts" -newer "$index" -print -quit) ]]; then
        return 0
    fi
    [[ -f $front/node_modules/.package-lock.json ]] || deps
    echo "building the frontend (frontend/dist)" >&2
    (cd "$front" && npm run --silent build >&2)
}

case ${1:-} in
    deps) deps ;;
    build) build ;;
    *) echo "usage: $0 deps|build" >&2; exit 2 ;;
esac

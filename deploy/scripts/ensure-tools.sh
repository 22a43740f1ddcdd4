#!/usr/bin/env bash
# The tools tests/deploy needs beyond the Python environment, installed once per machine:
# checkov (a uv tool: its pins conflict with the platform's lock, so it gets its own environment), kubectl
# (renders the kustomize overlays; from Debian's packages when missing), and podman/runc/debootstrap for the
# images. Idempotent and quiet when everything is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
UV=${UV:-$("$here/../../scripts/ensure-uv.sh")}
CHECKOV_VERSION=3.3.30

if ! "$UV" tool list 2>/dev/null | grep -q "^checkov v$CHECKOV_VERSION"; then
    echo "installing checkov $CHECKOV_VERSION (uv tool)" >&2
    "$UV" tool install --quiet --force --python 3.11 "checkov==$CHECKOV_VERSION" >&2
fi
if ! command -v kubectl >/dev/null; then
    echo "installing kubectl (apt)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi
# shellcheck source=deploy/scripts/podman-env.sh
. "$here/podman-env.sh"
ensure_container_tools

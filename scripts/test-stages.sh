#!/usr/bin/env bash
# `make test`: every stage, as two streams at a time. The CI machine has 2 cores and no stage keeps both busy
# (the browser tests and the image builds wait on processes and I/O; pytest's workers on the databases), so
# each phase runs a second stream beside the first: the image builds beside the checks and the web UI's tests,
# then the Spark group (its own environment, .venv-spark) beside pytest. The first stream prints as it goes,
# the second's output follows when both have ended; each stage prints its wall time.
set -uo pipefail
cd "$(dirname "$0")/.."
make=${MAKE:-make}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

stream() {  # stage...: run the make targets in turn, stop at the first that fails
    local stage start
    for stage; do
        start=$SECONDS
        if ! "$make" --no-print-directory "$stage"; then
            echo "== make test: $stage FAILED after $((SECONDS - start)) s"
            return 1
        fi
        echo "== make test: $stage took $((SECONDS - start)) s"
    done
}

phase() {  # "foreground stages" "background stages": both at once; fails when either fails
    local background=$logs/background.log status=0 pid
    # shellcheck disable=SC2086  # the stage lists are words
    stream $2 >"$background" 2>&1 &
    pid=$!
    # shellcheck disable=SC2086
    stream $1 || status=1
    wait "$pid" || status=1
    echo "== make test: the output of \"$2\", which ran beside \"$1\":"
    cat "$background"
    return $status
}

started=$SECONDS
"$make" --no-print-directory setup deploy-tools frontend-deps || exit 1
phase "lint types imports frontend-test" "images spark-setup" || exit 1
phase "pytest" "pytest-spark" || exit 1
echo "== make test: all stages passed in $((SECONDS - started)) s"

#!/usr/bin/env bash
# The api the browser tests drive: `recon serve` on a fresh SQLite database in $E2E_DATA_DIR, with the built
# SPA, an administrator from the environment, and the demo files (ledger.csv, bank.csv) to upload.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
recon=$root/.venv/bin/recon
[[ -x $recon ]] || { echo "run 'make setup' first ($recon missing)" >&2; exit 1; }
# Playwright kills this process at the end (no chance to clean up): the previous run's data goes here.
rm -rf "$E2E_DATA_DIR"
mkdir -p "$E2E_DATA_DIR"
"$recon" demo --rows "${E2E_DEMO_ROWS:-2000}" --out "$E2E_DATA_DIR/demo" >/dev/null
export DATA_DIR=$E2E_DATA_DIR/var ENVIRONMENT=development LOG_FORMAT=console LOG_LEVEL=WARNING
export PORT=$E2E_PORT METRICS_PORT=0 HOST=127.0.0.1 FRONTEND_DIST=$root/frontend/dist
export RECON_ADMIN_EMAIL=$E2E_ADMIN_EMAIL RECON_ADMIN_PASSWORD=$E2E_ADMIN_PASSWORD
exec "$recon" serve

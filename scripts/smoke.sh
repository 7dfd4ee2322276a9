#!/usr/bin/env bash
# CI's end-to-end smoke of the user's path: a Prefect server, the sandbox, the deployments, one
# `prefect deployment run multidc/full`, a worker --run-once, and the run's state read from the API.
# Uses its own state dir and port, and stops what it started.
source "$(dirname "$0")/bootstrap.sh"
export MULTIDC_STATE="${MULTIDC_SMOKE_STATE:-$(mktemp -d /tmp/multidc-smoke.XXXXXX)}"
export MULTIDC_PREFECT_PORT="${MULTIDC_SMOKE_PORT:-4299}"
unset PREFECT_HOME
source "$(dirname "$0")/env.sh"
cd "$MULTIDC_ROOT"

cleanup() {
  uv run --frozen --extra sandbox multidc sandbox down --state-dir "$MULTIDC_STATE/sandbox" >/dev/null 2>&1 || true
  bash scripts/server.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash scripts/server.sh start
uv run --frozen --extra sandbox multidc sandbox up --state-dir "$MULTIDC_STATE/sandbox" --time-scale 0.002
uv run prefect block register -m blocks >/dev/null
uv run --frozen --extra sandbox multidc sandbox connect --state-dir "$MULTIDC_STATE/sandbox" --block "$MULTIDC_CLOUD_BLOCK"
uv run prefect work-pool create "$MULTIDC_POOL" --type process >/dev/null
uv run prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml >/dev/null
uv run prefect deployment run multidc/full
timeout 900 uv run prefect worker start --pool "$MULTIDC_POOL" --run-once

uv run prefect flow-run ls --flow-name multidc -o json >"$MULTIDC_STATE/runs.json"
uv run python - "$MULTIDC_STATE/runs.json" <<'PY'
import json
import sys

runs = json.load(open(sys.argv[1]))
states = [(r["name"], r["state"]["type"] if isinstance(r.get("state"), dict) else r.get("state_type")) for r in runs]
print("multidc runs:", states)
if not states or any(s != "COMPLETED" for _, s in states):
    sys.exit("smoke: multidc/full did not complete")
print("smoke: multidc/full COMPLETED through a deployment and a worker")
PY

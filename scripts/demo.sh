#!/usr/bin/env bash
# The README's first command: on a fresh machine, set up everything and run multidc/full on the sandbox.
# A second run reuses the server, sandbox, blocks, deployments and worker it finds. Stop: scripts/stop.sh
source "$(dirname "$0")/bootstrap.sh"
source "$(dirname "$0")/env.sh"
cd "$MULTIDC_ROOT"
step() { printf '\n== %s\n' "$*"; }

step "Prefect server (home: $PREFECT_HOME)"
bash scripts/server.sh start

step "Sandbox: local Azure Resource Manager and Kubernetes clusters"
uv run --frozen --extra sandbox multidc sandbox up --state-dir "$MULTIDC_STATE/sandbox" --time-scale "${MULTIDC_TIME_SCALE:-0.01}"

step "Blocks"
uv run prefect block register -m blocks
uv run --frozen --extra sandbox multidc sandbox connect --state-dir "$MULTIDC_STATE/sandbox" --block "$MULTIDC_CLOUD_BLOCK"

step "Work pool and deployments"
uv run prefect work-pool inspect "$MULTIDC_POOL" >/dev/null 2>&1 \
  || uv run prefect work-pool create "$MULTIDC_POOL" --type process
# The demo verifies every minute so a scheduled run follows soon; production keeps 15 minutes.
sed "s/- interval: 900 /- interval: ${MULTIDC_DEMO_VERIFY_EVERY:-60} /" deployments/prefect.yaml >"$MULTIDC_STATE/prefect-demo.yaml"
uv run prefect --no-prompt deploy --all --prefect-file "$MULTIDC_STATE/prefect-demo.yaml"

step "Worker"
bash scripts/worker.sh start

step "prefect deployment run multidc/full --watch"
uv run prefect deployment run multidc/full --watch

cat <<TXT

multidc/full finished on the sandbox. Open the Prefect UI at http://127.0.0.1:$MULTIDC_PREFECT_PORT
to see the run, its artifacts (nodes per DC, summary, topology) and the scheduled verify-ring runs
(every ${MULTIDC_DEMO_VERIFY_EVERY:-60} s here). Stop everything with: bash scripts/stop.sh
TXT

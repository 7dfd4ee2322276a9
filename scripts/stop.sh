#!/usr/bin/env bash
# Stop everything scripts/demo.sh started: the worker, the sandbox and the Prefect server (state is kept).
source "$(dirname "$0")/bootstrap.sh"
source "$(dirname "$0")/env.sh"
cd "$MULTIDC_ROOT"
bash scripts/worker.sh stop
uv run multidc sandbox down --state-dir "$MULTIDC_STATE/sandbox" || true
bash scripts/server.sh stop

# Sourced by the scripts: a project-local Prefect (its own home and SQLite database) and the sandbox's paths.
MULTIDC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MULTIDC_ROOT
export MULTIDC_STATE="${MULTIDC_STATE:-$MULTIDC_ROOT/.multidc}"
export PREFECT_HOME="${PREFECT_HOME:-$MULTIDC_STATE/prefect}"
export MULTIDC_PREFECT_PORT="${MULTIDC_PREFECT_PORT:-4200}"
export PREFECT_API_URL="http://127.0.0.1:$MULTIDC_PREFECT_PORT/api"
export PREFECT_SERVER_API_PORT="$MULTIDC_PREFECT_PORT"
export PREFECT_SERVER_API_HOST=127.0.0.1
export DO_NOT_TRACK=1
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180
# The sandbox's default ring and cloud block; set these to run against a real subscription.
export MULTIDC_SPEC="${MULTIDC_SPEC:-examples/sandbox.yaml}"
export MULTIDC_CLOUD_BLOCK="${MULTIDC_CLOUD_BLOCK:-multidc-sandbox}"
export MULTIDC_POOL="${MULTIDC_POOL:-multidc}"
mkdir -p "$MULTIDC_STATE" "$PREFECT_HOME"

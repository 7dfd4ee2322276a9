# Sourced by the other scripts: installs uv (from PyPI) if missing and syncs the locked env, with the
# `sandbox` extra (the local servers the demo, the smoke test and the tests run against).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
export DO_NOT_TRACK=1
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180
uv sync --frozen --quiet --extra sandbox

#!/usr/bin/env bash
# CI: the product installs and runs without the `sandbox` extra. A separate environment of the locked
# dependencies alone (no extra, no dev group), then every module of the product imported and
# `multidc validate` run. trustme must be absent; aiohttp and cryptography come anyway (kubernetes and
# azure-identity need them), so import-linter checks that the product never imports them itself.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir="$(mktemp -d /tmp/multidc-no-sandbox.XXXXXX)"
trap 'rm -rf "$env_dir"' EXIT
export UV_PROJECT_ENVIRONMENT="$env_dir"
uv sync --frozen --quiet --no-dev
uv run --frozen --no-dev --no-sync python - <<'PY'
import importlib
import importlib.util
import pkgutil

assert importlib.util.find_spec("trustme") is None, "trustme is installed without the sandbox extra"
count = 0
for package in ("multidc_core", "blocks", "tasks", "flows", "multidc"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        importlib.import_module(info.name)
        count += 1
print(f"product without the sandbox extra: {count} modules import")
PY
uv run --frozen --no-dev --no-sync multidc validate examples/sandbox.yaml

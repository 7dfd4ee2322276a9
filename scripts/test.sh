#!/usr/bin/env bash
# The README's test command: installs what it needs, then runs the whole test suite.
source "$(dirname "$0")/bootstrap.sh"
uv run --frozen --extra sandbox pytest -q "$@"

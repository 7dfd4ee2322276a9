"""Where the tests find the project's shared material (`../shared` beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    for candidate in (os.environ.get("MULTIDC_SHARED"), ROOT.parent / "shared", "/work/shared"):
        if candidate and Path(candidate, "azure-specs").is_dir():
            return Path(candidate)
    raise FileNotFoundError("../shared (with azure-specs/ and seeds/) is not beside the checkout; set MULTIDC_SHARED")


SHARED = _shared()
AZURE_SPECS = SHARED / "azure-specs" / "specification"
SEEDS = SHARED / "seeds"

"""The layout the design card fixes exists, and the pure core stays pure."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_layout() -> None:
    missing = [
        name
        for name in ("pyproject.toml", "flows", "tasks", "blocks", "deployments", "tests")
        if not (ROOT / name).exists()
    ]
    assert missing == []

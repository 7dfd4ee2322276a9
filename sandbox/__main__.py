"""`python -m sandbox serve --state-dir DIR`: the sandbox's background process."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from sandbox.presets import EXISTING_PRESETS
from sandbox.serve import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the sandbox in the foreground")
    run.add_argument("--state-dir", type=Path, required=True)
    run.add_argument("--time-scale", type=float, default=0.01)
    run.add_argument("--existing", choices=sorted(EXISTING_PRESETS), default=None)
    run.add_argument("--admin-port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.state_dir, args.time_scale, args.existing, args.admin_port))


if __name__ == "__main__":
    main()

"""Entry point of the API image: the `wartezone api` command without the edge's command line.

The API image installs wartezone[api] only. The `wartezone` script is edge.cli, which imports the
edge's numpy and OpenCV at start, so it cannot run there; this builds the same `api` subcommand
from api.cli and runs it, so the image takes the arguments `wartezone` takes:
`api -c /etc/wartezone/api.yaml`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from api.cli import register


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="wartezone", description="The staffing-alert API image.")
    commands = parser.add_subparsers(title="commands", required=True)
    register(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

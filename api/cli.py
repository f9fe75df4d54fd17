"""`wartezone api`: registered into the `wartezone` command through the wartezone.commands entry point."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("api", help="the staffing-alert API and reception page")
    parser.set_defaults(handler=_not_ready)


def _not_ready(args: argparse.Namespace) -> int:
    raise SystemExit("wartezone api: not built yet")

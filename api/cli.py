"""`wartezone api`: registered into the `wartezone` command through the wartezone.commands entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "api",
        help="the staffing-alert API and reception page",
        description="Serve the staffing-alert API and the reception page at /reception. Settings come "
        "from FILE and from WARTEZONE_API__* environment variables (e.g. "
        "WARTEZONE_API__AUTH__DESK_TOKENS='[\"...\"]'), which win.",
        epilog="example: wartezone api -c api.yaml --host 0.0.0.0 --port 8088",
    )
    parser.add_argument("-c", "--config", type=Path, help="YAML settings file")
    parser.add_argument("--host", help="listen address (default: settings, else 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="listen port (default: settings, else 8088)")
    parser.set_defaults(handler=run)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 1-65535, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from api.settings import SettingsError, load_settings
    from api.storage import Storage, StorageError

    try:
        settings = load_settings(args.config)
        overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        settings = settings.model_copy(update=overrides)
        Storage.open(settings.database).close()  # created and migrated now: fail fast, not mid-start
    except SettingsError as error:
        source = args.config or "defaults and environment"
        print(f"wartezone api: invalid settings ({source}):", file=sys.stderr)
        for path, message in error.problems:
            print(f"  {path}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StorageError as error:
        print(f"wartezone api: invalid settings: database: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

    import uvicorn

    from api.app import create_app

    print(f"wartezone api: http://{settings.host}:{settings.port}/reception (Ctrl-C stops)", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # the page's and Prometheus's polling would fill it; errors are still logged
        timeout_graceful_shutdown=2,  # open event streams would otherwise hold the shutdown
    )
    return 0

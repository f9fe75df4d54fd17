"""`wartezone api`: registered into the `wartezone` command through the wartezone.commands entry point."""

from __future__ import annotations

import argparse
import errno
import socket
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

    source = args.config or "defaults and environment"
    try:
        settings = load_settings(args.config)
        overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        settings = settings.model_copy(update=overrides)
        # The port first: a second API started by mistake must not create or migrate a database.
        listening = _bind(settings.host, settings.port)
    except SettingsError as error:
        print(f"wartezone api: invalid settings ({source}):", file=sys.stderr)
        for path, message in error.problems:
            print(f"  {path}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        reason = "is in use (another wartezone api, or another program)"
        if error.errno != errno.EADDRINUSE:
            reason = f"cannot be opened ({error.strerror})"
        print(
            f"wartezone api: invalid settings ({source}):\n  port: port {settings.port} on {settings.host} "
            f"{reason}: set another port (or --port) or stop it",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        Storage.open(settings.database).close()  # created and migrated now: fail fast, not mid-start
    except StorageError as error:
        listening.close()
        print(f"wartezone api: invalid settings: database: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

    import uvicorn

    from api.app import create_app

    print(f"wartezone api: http://{settings.host}:{settings.port}/reception (Ctrl-C stops)", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        log_level="info",
        access_log=False,  # the page's and Prometheus's polling would fill it; errors are still logged
        timeout_graceful_shutdown=2,  # open event streams would otherwise hold the shutdown
    )
    uvicorn.Server(config).run(sockets=[listening])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound as uvicorn binds (address reuse for quick restarts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening

"""`wartezone api` and `wartezone report`: registered into the `wartezone` command through the
wartezone.commands entry point (the API's one: the report is the API's, and needs what it needs)."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
TOKEN_VARIABLE = "WARTEZONE_TOKEN"


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
    actions = parser.add_subparsers(title="other actions", metavar="{token}")
    token = actions.add_parser(
        "token",
        help="print a new random token for auth.desk_tokens or auth.lead_tokens",
        description="Print a new random token (256 bits, URL-safe) for auth.desk_tokens or "
        "auth.lead_tokens; it passes the API's check of weak tokens. Nothing is stored.",
        epilog="example: WARTEZONE_DESK_TOKEN=$(wartezone api token)",
    )
    token.set_defaults(handler=new_token)
    register_report(commands)


def new_token(args: argparse.Namespace) -> int:
    import secrets

    from api.settings import token_problem

    token = secrets.token_urlsafe(32)
    while token_problem(token) is not None:  # 43 random characters: practically never
        token = secrets.token_urlsafe(32)
    print(token)
    return 0


def register_report(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "report",
        help="per zone and hour: occupancy, entries, waits, alerts, as CSV or JSON",
        description="Fetch the report of a site from a running wartezone api (GET /api/v1/report, "
        "lead token) and write it to a file. Times without a UTC offset are the API's time zone.",
        epilog="example: wartezone report --api http://127.0.0.1:8088 --site north "
        "--from 2025-11-24 --to 2025-12-01 --out november.csv --dialect de",
    )
    parser.add_argument("--api", required=True, help="the API's address, e.g. http://127.0.0.1:8088")
    parser.add_argument(
        "--token", help=f"a lead token (default: the {TOKEN_VARIABLE} environment variable, kept out of ps)"
    )
    parser.add_argument("--site", required=True, help="the site id, e.g. north")
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        help="start, e.g. 2025-11-24, 2025-11-24T08:00, 24.11.2025 or '24.11.2025 08:00'",
    )
    parser.add_argument("--to", dest="end", required=True, help="end (a whole number of steps after --from)")
    parser.add_argument("--step", default="1h", help="15m, 1h, 1d ... (default: 1h)")
    parser.add_argument(
        "--out", type=Path, required=True, help="the file to write (replaced only on success)"
    )
    parser.add_argument(
        "--format", dest="form", choices=("csv", "json"), help="default: json for a .json file, else csv"
    )
    parser.add_argument(
        "--dialect",
        choices=("excel", "de"),
        default="excel",
        help="CSV: excel (comma, decimal point, the default) or de (semicolon, decimal comma, "
        "German column names)",
    )
    parser.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int:
    import httpx

    token = args.token or os.environ.get(TOKEN_VARIABLE)
    if not token:
        print(f"wartezone report: --token: a lead token is needed (or set {TOKEN_VARIABLE})", file=sys.stderr)
        return EXIT_BAD_INPUT
    form = args.form or ("json" if args.out.suffix.lower() == ".json" else "csv")
    params = {"site": args.site, "from": args.start, "to": args.end, "step": args.step, "format": form}
    if form == "csv":
        params["dialect"] = args.dialect
    url = args.api.rstrip("/") + "/api/v1/report"
    try:
        response = httpx.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        print(f"wartezone report: --api: cannot reach {url}: {error}", file=sys.stderr)
        return EXIT_FAILED
    if response.status_code != 200:
        print(f"wartezone report: {_api_error(response)}", file=sys.stderr)
        return EXIT_BAD_INPUT if 400 <= response.status_code < 500 else EXIT_FAILED
    # Written beside the file and renamed over it: a failed run never leaves half a report.
    partial = args.out.with_name(f".{args.out.name}.partial")
    try:
        partial.write_bytes(response.content)
        partial.replace(args.out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        print(f"wartezone report: --out: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wartezone report: {args.out} ({len(response.content)} bytes)")
    return 0


def _api_error(response: httpx.Response) -> str:
    """The API's one error body in a line, each field named as its option."""
    try:
        error = response.json()["error"]
        message, fields = str(error["message"]), error.get("fields") or []
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} from {response.url}"
    if not fields:
        return f"{message} (HTTP {response.status_code})"
    options = {"query.from": "--from", "query.to": "--to", "query.step": "--step", "query.site": "--site"}
    return "; ".join(f"{options.get(f['path'], f['path'])}: {f['message']}" for f in fields)


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
        # Wrong tokens are counted per connecting address; trusting X-Forwarded-For (uvicorn's
        # default from 127.0.0.1) would let any local client name a new address per guess.
        proxy_headers=False,
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

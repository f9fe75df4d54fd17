"""The setup server against a stranger: POST /api/save with `Content-Length: -1` and no token while
sending a large body. Prints when the answer came, how much could be sent before the server cut
the connection, and the process's memory before and at its peak (the server runs in this process).
    .venv/bin/python -m benchmarks.setup_stranger [--mib 400] [--revision f5d6568]
--revision: the server of that git revision instead of this checkout's (to compare with the past).
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def server_class(revision: str | None) -> Any:
    if revision is None:
        from edge.setup.server import SetupServer

        return SetupServer
    source = subprocess.run(
        ["git", "show", f"{revision}:edge/setup/server.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "setup_server_then.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("setup_server_then", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SetupServer


def resident_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=400, help="body offered, MiB")
    parser.add_argument("--revision", help="git revision whose edge/setup/server.py to measure")
    args = parser.parse_args()

    server = server_class(args.revision)("127.0.0.1", 0)
    server.start(None)  # a stranger never reaches the session
    before = peak = resident_mib()
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, resident_mib())
            time.sleep(0.02)

    answers: list[tuple[float, str]] = []
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.sendall(b"POST /api/save HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n")
    started = time.monotonic()

    def read() -> None:
        first = connection.recv(200).split(b"\r\n")[0].decode() or "(closed, no answer)"
        answers.append((time.monotonic() - started, first))

    threads = [threading.Thread(target=f, daemon=True) for f in (watch, read)]
    for thread in threads:
        thread.start()
    sent, chunk, cut = 0, b"[" * 2**20, ""
    try:
        while sent < args.mib * 2**20:
            connection.sendall(chunk)
            sent += len(chunk)
        connection.shutdown(socket.SHUT_WR)
    except OSError as error:
        cut = f", then cut ({error.strerror})"
    threads[1].join(60)
    time.sleep(0.5)
    stop.set()
    seconds, first = answers[0] if answers else (float("nan"), "(none within 60 s)")
    print(
        f"{args.revision or 'this checkout'}: answer {first!r} after {seconds * 1000:.0f} ms; "
        f"sent {sent / 2**20:.0f} MiB of {args.mib}{cut}; memory {before:.0f} MiB, peak {peak:.0f} MiB"
    )
    server.stop()


if __name__ == "__main__":
    main()

"""What a stranger, a broken client or a slow one costs the setup server, over raw sockets: the
token is checked before a body is read, lengths are checked before one is read, and a request that
does not arrive in time is dropped while others are served."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from edge.setup.server import SetupServer
from tests.edge.setup.conftest import SITE_YAML, Running

TIMEOUT_S = 1.0  # the read time of the server under test here


def send(port: int, request: bytes, wait_s: float = 5.0) -> bytes:
    """The whole answer to `request` (the server closes after each)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as connection:
        connection.sendall(request)
        return read_answer(connection)


def read_answer(connection: socket.socket) -> bytes:
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def status_and_message(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]["message"]


def request(path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_stranger_sending_a_negative_length_is_answered_401_at_once_and_not_read(running: Running) -> None:
    port = running.server.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request("/api/save", {"Content-Length": "-1"}, b"[" * 65536))
        started = time.monotonic()
        head = connection.recv(65536)
        assert head.startswith(b"HTTP/1.0 401"), head
        assert time.monotonic() - started < 2.0
        # It goes on sending: the server drops a bounded amount, then closes (a reset on this side).
        sent = 0
        with pytest.raises(OSError):
            while sent < 256 * 2**20:
                connection.sendall(b"[" * 2**20)
                sent += 2**20
        assert sent < 64 * 2**20, sent
    assert running.call("GET", "/api/state").status == 200  # and serves the others
    assert running.path.read_text(encoding="utf-8") == SITE_YAML


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"Content-Length": "0"}, 422, "the request does not have the expected shape"),  # the empty body
        ({"Content-Length": "-1"}, 400, "Content-Length must be a number of bytes, got '-1'"),
        ({"Content-Length": "+2"}, 400, "got '+2'"),
        ({"Content-Length": "1_0"}, 400, "got '1_0'"),
        ({"Content-Length": "ten"}, 400, "got 'ten'"),
        ({"Content-Length": "9" * 30}, 413, "at most 262144"),
        ({}, 411, "a POST needs a Content-Length"),
        ({"Transfer-Encoding": "chunked"}, 411, "not in chunks"),
    ],
)
def test_a_length_that_is_not_a_small_number_of_bytes_is_refused_before_reading(
    running: Running, headers: dict[str, str], status: int, words: str
) -> None:
    token = {"Authorization": f"Bearer {running.server.token}"}
    answer = send(running.server.port, request("/api/hold", token | headers))
    assert status_and_message(answer)[0] == status
    assert words in answer.decode(), answer


def test_two_different_lengths_are_refused(running: Running) -> None:
    head = request("/api/hold", {"Authorization": f"Bearer {running.server.token}", "Content-Length": "2"})
    answer = send(running.server.port, head.replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n") + b"{}")
    assert status_and_message(answer) == (400, "2 different Content-Length headers")


@pytest.fixture
def quick(running: Running) -> Iterator[SetupServer]:
    """A second server on the same session that gives a request TIMEOUT_S to arrive."""
    server = SetupServer("127.0.0.1", 0, timeout_s=TIMEOUT_S)
    server.start(running.session)
    try:
        yield server
    finally:
        server.stop()


def trickle(connection: socket.socket, data: bytes) -> None:
    """One byte each 0.1 s (20 s for this request), until the server closes."""
    for byte in data:
        connection.sendall(bytes([byte]))
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("how", "answered"),
    [
        ("half the body", b"HTTP/1.0 408"),
        ("the headers unfinished", b""),
        ("a byte at a time", b""),
    ],
)
def test_a_slow_client_is_dropped_after_the_read_time_while_others_are_served(
    quick: SetupServer, how: str, answered: bytes
) -> None:
    body = b'{"camera": "door", "hold": true}' + b" " * 168
    full = request("/api/hold", {"Authorization": f"Bearer {quick.token}", "Content-Length": "200"}, body)
    with socket.create_connection(("127.0.0.1", quick.port), timeout=5) as slow:
        started = time.monotonic()
        if how == "half the body":
            slow.sendall(full[:-100])
        elif how == "the headers unfinished":
            slow.sendall(full[: full.index(b"\r\n\r\n")])
        # Meanwhile another client is served at once.
        other = send(
            quick.port,
            b"GET /api/state HTTP/1.1\r\nAuthorization: Bearer " + quick.token.encode() + b"\r\n\r\n",
        )
        assert other.startswith(b"HTTP/1.0 200") and time.monotonic() - started < TIMEOUT_S
        if how == "a byte at a time":
            with pytest.raises(OSError):
                trickle(slow, full)
            answer = b""
        else:
            answer = read_answer(slow)
        dropped_after = time.monotonic() - started
    assert answer.startswith(answered), answer
    assert TIMEOUT_S * 0.9 < dropped_after < TIMEOUT_S + 2.0, dropped_after
    if answered:
        assert status_and_message(answer)[1] == f"the request did not arrive within {TIMEOUT_S:g} s"


def test_a_fault_of_the_server_is_answered_500_and_logged(
    running: Running, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(camera: str, hold: bool) -> None:
        raise RuntimeError("the session broke")

    monkeypatch.setattr(running.session, "set_hold", broken)

    answer = running.call("POST", "/api/hold", {"camera": "door", "hold": True})

    assert answer.status == 500
    assert answer.json()["error"]["message"] == "the setup failed on this request: see its log"
    [record] = [r for r in caplog.records if r.name == "edge.setup.server"]
    assert record.getMessage() == "setup: POST /api/hold failed" and record.exc_info is not None
    assert running.call("GET", "/api/state").status == 200

"""`wartezone check` as an installer runs it: a real RTSP server, a camera that wants a password,
a closed port, a name that does not resolve, a site config with a file camera, a port in use, and
an API whose clock runs fast or slow."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from benchmarks.live import camera_stream
from edge.check import check_clock, check_metrics_port
from edge.server import make_app, serve
from edge.sources.stream import heavy_stream
from tests.edge.fake_camera import PASSWORD, Camera
from tests.edge.sources.conftest import DEBIAN_PYTHON, RtspServer
from tests.edge.sources.test_diagnose import RTSP_DIGEST
from tests.edge.test_cli import wartezone
from tests.support import free_port, write_video


@pytest.fixture
def rtsp_server(shared_data: Path) -> Iterator[RtspServer]:
    """GStreamer's RTSP server serving the PETS video at /cam."""
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail("Debian's python3 with gi is missing: scripts/setup.sh --dev installs it")
    server = RtspServer(shared_data / "pets2009-s2l1" / "vtest.avi")
    server.start()
    yield server
    server.kill()


def _lines(done: Any) -> list[str]:
    print(done.stdout, done.stderr[-2000:])
    return [line for line in done.stdout.splitlines() if line]


@pytest.mark.live_server
def test_a_camera_that_streams_opens_with_its_size_rate_and_codec(rtsp_server: RtspServer) -> None:
    done = wartezone("check", "--camera", rtsp_server.url("cam"), timeout=60)
    [line] = _lines(done)
    assert done.returncode == 0
    assert line.startswith(f"ok   camera: {rtsp_server.url('cam')} opens: 768x576, ")
    assert "frames/s" in line or "frame rate unknown" in line


@pytest.mark.live_server
def test_a_stream_that_costs_much_to_decode_is_named_with_what_to_send_instead(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", frames=50, fps=25, size=(1920, 1080))
    server = RtspServer(camera_stream(clip, "1920x1080@25", tmp_path), as_is=True)
    server.start()
    try:
        done = wartezone("check", "--camera", server.url("cam"), timeout=60)
    finally:
        server.kill()
    opened, warning = _lines(done)
    assert opened.startswith(f"ok   camera: {server.url('cam')} opens: 1920x1080, 25.0 frames/s, h264")
    assert warning == (
        "warn camera: sends 1920x1080 at 25 frames/s, and the box decodes every frame it receives, "
        "analysed or not: give it the camera's second stream, about 640x480 to 1280x720 at 5 frames/s "
        'and 1 Mbit/s or more (installer guide, "Live cameras")'
    )
    assert done.returncode == 0  # a warning, not a failure


@pytest.mark.parametrize(
    ("width", "height", "fps", "warned"),
    [(1280, 720, 10.0, False), (1280, 720, 10.5, True), (640, 480, 30.0, False), (2048, 1536, 5.0, True)],
)
def test_a_stream_is_heavy_above_720p_at_10_frames_a_second(
    width: int, height: int, fps: float, warned: bool
) -> None:
    assert (heavy_stream(width, height, fps) is not None) is warned
    for unknown in (None, 0.0, float("nan"), 90000.0):  # a rate the stream does not say: nothing said
        assert heavy_stream(width, height, unknown) is None


@pytest.mark.live_server
def test_a_wrong_stream_path_is_named(rtsp_server: RtspServer) -> None:
    url = rtsp_server.url("wrong")
    done = wartezone("check", "--camera", url, timeout=60)
    assert _lines(done) == [
        f"FAIL camera: cannot open {url}: "
        "no stream at path /wrong on this camera (RTSP 404): check the stream path"
    ]
    assert done.returncode == 1


def test_a_closed_port_and_an_unknown_name_are_named() -> None:
    port = free_port()
    refused = wartezone("check", "--camera", f"rtsp://127.0.0.1:{port}/cam", timeout=60)
    unknown = wartezone("check", "--camera", "rtsp://camera-9.invalid/cam", timeout=60)
    assert _lines(refused) == [
        f"FAIL camera: cannot open rtsp://127.0.0.1:{port}/cam: connection refused by 127.0.0.1:{port} "
        "(nothing listens there: wrong port, or the camera is off)"
    ]
    assert _lines(unknown) == [
        "FAIL camera: cannot open rtsp://camera-9.invalid/cam: "
        "host name camera-9.invalid does not resolve (DNS)"
    ]
    assert refused.returncode == unknown.returncode == 1


@pytest.mark.live_server
def test_the_real_rtsp_server_names_wrong_credentials_and_opens_with_the_right_ones(
    shared_data: Path,
) -> None:
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail("Debian's python3 with gi is missing: scripts/setup.sh --dev installs it")
    server = RtspServer(shared_data / "pets2009-s2l1" / "vtest.avi", credentials=f"viewer:{PASSWORD}")
    server.start()
    try:
        address = server.url("cam").removeprefix("rtsp://")
        wrong = wartezone("check", "--camera", f"rtsp://viewer:{PASSWORD}x@{address}", timeout=60)
        right = wartezone("check", "--camera", f"rtsp://viewer:{PASSWORD}@{address}", timeout=60)
    finally:
        server.kill()
    refused = "the camera refused the user name or password (RTSP 401)"
    assert _lines(wrong) == [f"FAIL camera: cannot open rtsp://***@{address}: {refused}"]
    assert wrong.returncode == 1
    [line] = _lines(right)
    assert line.startswith(f"ok   camera: rtsp://***@{address} opens: 768x576, "), line
    assert right.returncode == 0
    assert PASSWORD not in wrong.stdout + wrong.stderr + right.stdout + right.stderr


def test_wrong_credentials_are_named_and_never_shown(serve: Callable[[Camera], int]) -> None:
    port = serve(RTSP_DIGEST)
    done = wartezone("check", "--camera", f"rtsp://admin:{PASSWORD}x@127.0.0.1:{port}/cam", timeout=60)
    assert _lines(done) == [
        f"FAIL camera: cannot open rtsp://***@127.0.0.1:{port}/cam: "
        "the camera refused the user name or password (RTSP 401)"
    ]
    assert PASSWORD not in done.stdout + done.stderr
    assert done.returncode == 1


@pytest.fixture
def site(
    config_dict: Callable[..., dict[str, Any]], write_config: Callable[[Any], Path]
) -> Callable[[int], Path]:
    """A site config with the demo video as its camera door, two zones, metrics on `port`. The
    detector keeps its full input size: smaller, it finds nobody in the video's first frame."""

    def make(port: int) -> Path:
        data = config_dict(
            id="door",
            zones=[
                {"id": "waiting", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]},
                {"id": "queue", "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]},
            ],
        )
        data["metrics"] = {"host": "127.0.0.1", "port": port}
        return write_config(data)

    return make


@pytest.mark.slow
def test_a_site_passes_its_checks(site: Callable[[int], Path], demo_video: Path) -> None:
    done = wartezone("check", "-c", str(site(0)))
    lines = _lines(done)
    assert done.returncode == 0
    assert len(lines) == 4
    assert lines[0].startswith("ok   model ") and "matches its manifest (sha256 " in lines[0]
    assert lines[1].startswith(f"ok   camera door: {demo_video} opens: 768x576, ")
    people = [int(n) for n in re.findall(r"(?:waiting|queue) (\d+) (?:person|people)", lines[2])]
    assert lines[2].startswith("ok   camera door: one frame analysed: waiting ") and ", queue " in lines[2]
    assert len(people) == 2 and sum(people) > 0  # the video's first frame shows three people
    assert lines[3] == "ok   metrics port 0 on 127.0.0.1: a free port is picked at start"


@pytest.mark.slow
def test_a_metrics_port_in_use_fails_the_check(site: Callable[[int], Path]) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = wartezone("check", "-c", str(site(port)))
    lines = _lines(done)
    assert lines[-1] == (
        f"FAIL metrics port {port} on 127.0.0.1 is in use (another wartezone edge?): "
        "change metrics.port or stop it"
    )
    assert all(line.startswith("ok   ") for line in lines[:-1])
    assert done.returncode == 1


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "ok   metrics port {port} on 127.0.0.1 is free"),
        ("192.0.2.77", "FAIL metrics port {port} on 192.0.2.77: 192.0.2.77 is not an address of this box"),
        ("::1", "FAIL metrics port {port} on ::1: metrics.host ::1 is not an IPv4 address or a name of one"),
        ("", "ok   metrics port {port} on  is free"),  # empty: every address, as the edge binds it
    ],
)
def test_the_metrics_port_is_tried_on_its_host(host: str, expected: str) -> None:
    port = free_port()
    assert check_metrics_port(host, port).line().startswith(expected.format(port=port))


@pytest.mark.parametrize("stopped", [False, True])
def test_a_stopped_edges_port_is_free_though_its_connections_wait_in_time_wait(stopped: bool) -> None:
    """The edge's own /metrics server, scraped once: it closes the connection first (HTTP/1.0), so
    that connection waits in TIME-WAIT on its port for a minute after the edge stopped."""
    server, _ = serve("127.0.0.1", 0, make_app(CollectorRegistry(), lambda: (True, {})))
    port = server.server_port
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as scrape:
            scrape.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            answer = b""
            while chunk := scrape.recv(65536):  # to the end: the server has closed its side first
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 200 OK")
        time.sleep(0.1)  # the last ACK has reached the server: its side is in TIME-WAIT
        if stopped:
            server.shutdown()
            server.server_close()
            assert _time_wait_on(port), "the scrape left no connection in TIME-WAIT"
        line = check_metrics_port("127.0.0.1", port).line()
    finally:
        server.shutdown()
        server.server_close()
    if stopped:
        assert line == f"ok   metrics port {port} on 127.0.0.1 is free"
    else:
        assert line.startswith(f"FAIL metrics port {port} on 127.0.0.1 is in use (another wartezone edge?)")


def _time_wait_on(port: int) -> bool:
    """Whether a TCP connection on local port `port` is in TIME-WAIT (Linux: /proc/net/tcp, state 06)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(int(row.split()[1].rsplit(":", 1)[1], 16) == port and row.split()[3] == "06" for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "-c/--camera: give exactly one"),
        (("-c", "site.yaml", "--camera", "rtsp://127.0.0.1/cam"), "-c/--camera: give exactly one"),
        (("-c", "{bad}"), "cameras"),
    ],
)
def test_a_bad_invocation_or_config_exits_2(
    args: tuple[str, ...], message: str, write_config: Callable[[Any], Path]
) -> None:
    bad = write_config({"site": "x", "cameras": []})
    done = wartezone("check", *(a.format(bad=bad) for a in args))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def api_clock() -> Iterator[Callable[[float], str]]:
    """A web server on 127.0.0.1 whose Date header runs `offset_s` ahead of this box's clock; it
    answers 401, as the API does without a token."""
    servers: list[ThreadingHTTPServer] = []

    def start(offset_s: float) -> str:
        class Handler(BaseHTTPRequestHandler):
            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(time.time() + offset_s, usegmt=True)

            def do_GET(self) -> None:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("offset_s", "expected"),
    [
        (0.0, r"ok   clock: this box and the API at URL agree within (0\.\d|1\.[01]) s"),
        (10.0, r"warn clock: the API at URL is (9\.\d|10\.\d) s ahead of this box: alert durations"),
        (-100.0, r"FAIL clock: the API at URL is (99\.\d|100\.\d) s behind this box: alert durations"),
    ],
)
def test_the_api_clock_is_compared(api_clock: Callable[[float], str], offset_s: float, expected: str) -> None:
    url = api_clock(offset_s)
    line = check_clock(url).line()
    print(line)
    assert re.match(expected.replace("URL", re.escape(url)), line)


def test_an_api_that_does_not_answer_fails_the_clock_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = check_clock(url).line()
    assert line.startswith(f"FAIL clock: the API at {url} does not answer (") and "wartezone api" in line

"""Why a camera did not open: the causes found against real sockets on 127.0.0.1 (small threaded
cameras answering RTSP and HTTP, a real GStreamer RTSP server), in damaged video files, and the open
error carrying them."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import HttpSourceConfig, RtspSourceConfig, UsbSourceConfig
from edge.sources import diagnose
from edge.sources.base import SourceError
from edge.sources.diagnose import why_file_not_open, why_not_open
from edge.sources.stream import StreamSource
from tests.edge.fake_camera import (
    PASSWORD,
    RTSP_CAMERA,
    RTSP_DIGEST,
    SDP_AUDIO,
    USER,
    Camera,
    Reply,
)
from tests.edge.sources.conftest import DEBIAN_PYTHON, RtspServer
from tests.support import free_port

SHORT_S = 0.5


@pytest.fixture
def listeners() -> Iterator[Callable[[bool], int]]:
    """Sockets that never answer: listening (connections accepted by the kernel, then silence), or
    with a full accept queue (new connections get no answer at all, as behind a firewall)."""
    sockets: list[socket.socket] = []

    def start(queue_full: bool) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        sockets.append(listener)
        port = int(listener.getsockname()[1])
        if queue_full:
            sockets.append(socket.create_connection(("127.0.0.1", port)))  # fills the queue of one
        return port

    yield start
    for sock in sockets:
        sock.close()


RTSP_AUDIO = Camera("RTSP", {"/mic": Reply("200 OK", {"Content-Type": "application/sdp"}, SDP_AUDIO)})
RTSP_DIGEST_HANGS_UP = Camera("RTSP", RTSP_CAMERA.routes, login="Digest", hang_up_on_401=True)
RTSP_NEGOTIATE = Camera("RTSP", RTSP_CAMERA.routes, login="Negotiate")
HTTP_CAMERA = Camera(
    "HTTP",
    {
        "/video.mjpg": Reply("200 OK", {"Content-Type": "multipart/x-mixed-replace; boundary=frame"}),
        "/index.html": Reply("200 OK", {"Content-Type": "text/html; charset=utf-8"}, "<html></html>"),
        "/snapshot.jpg": Reply("200 OK", {"Content-Type": "image/jpeg"}, "not really"),
        "/old": Reply("302 Found", {"Location": "/index.html"}),
        "/busy": Reply("503 Service Unavailable"),
    },
)
HTTP_BASIC = Camera("HTTP", HTTP_CAMERA.routes, login="Basic")
DECODE = "but OpenCV could not open or decode it (codec or format)"

# (URL with {port} for the server the case names, the server, the cause with {port})
CASES: dict[str, tuple[str, Camera | str | None, str]] = {
    "empty": ("", None, "no address given"),
    "unsupported": (
        "ftp://127.0.0.1/cam",
        None,
        "unsupported address type 'ftp' (rtsp, rtsps, http or https)",
    ),
    "bad port": (
        "rtsp://127.0.0.1:99999/cam",
        None,
        "the address is not a valid URL (Port out of range 0-65535)",
    ),
    "dns": ("rtsp://camera-3.invalid/cam", None, "host name camera-3.invalid does not resolve (DNS)"),
    "refused": (
        "rtsp://127.0.0.1:{port}/cam",
        "closed",
        "connection refused by 127.0.0.1:{port} (nothing listens there: wrong port, or the camera is off)",
    ),
    "no answer": (
        "rtsp://127.0.0.1:{port}/cam",
        "queue full",
        f"no answer from 127.0.0.1:{{port}} within {SHORT_S} s "
        "(firewall, wrong address, or the camera is off)",
    ),
    "silent": (
        "rtsp://127.0.0.1:{port}/cam",
        "silent",
        f"127.0.0.1:{{port}} accepted the connection but sent no RTSP answer within {SHORT_S} s "
        "(another service on this port, or the camera hung)",
    ),
    "rtsp ok": (
        "rtsp://127.0.0.1:{port}/cam",
        RTSP_CAMERA,
        f"the camera answers and offers H264 video, {DECODE}",
    ),
    "rtsp 404": (
        "rtsp://127.0.0.1:{port}/wrong?channel=1",
        RTSP_CAMERA,
        "no stream at path /wrong on this camera (RTSP 404): check the stream path",
    ),
    "rtsp audio only": (
        "rtsp://127.0.0.1:{port}/mic",
        RTSP_AUDIO,
        "the camera answers at this path but offers no video (audio only, or another path's stream?)",
    ),
    "rtsp 401 no user": (
        "rtsp://127.0.0.1:{port}/cam",
        RTSP_DIGEST,
        "the camera wants a user name and password, and the address gives none (RTSP 401)",
    ),
    "rtsp 401 wrong password": (
        f"rtsp://{USER}:wrong@127.0.0.1:{{port}}/cam",
        RTSP_DIGEST,
        "the camera refused the user name or password (RTSP 401)",
    ),
    "rtsp digest ok": (
        f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{{port}}/cam",
        RTSP_DIGEST,
        f"the camera answers and offers H264 video, {DECODE}",
    ),
    "rtsp digest ok, new connection": (
        f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{{port}}/cam",
        RTSP_DIGEST_HANGS_UP,
        f"the camera answers and offers H264 video, {DECODE}",
    ),
    "rtsp unknown log-in": (
        f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{{port}}/cam",
        RTSP_NEGOTIATE,
        "the camera asks for a log-in method this check does not speak (Negotiate; RTSP 401)",
    ),
    "rtsp to http": (
        "rtsp://127.0.0.1:{port}/cam",
        HTTP_CAMERA,
        "127.0.0.1:{port} answers, but not in RTSP (another service on this port?)",
    ),
    "rtsps to plain": (
        "rtsps://127.0.0.1:{port}/cam",
        RTSP_CAMERA,
        "127.0.0.1:{port} does not speak TLS: is it rtsp:// rather than rtsps://?",
    ),
    "rtsps to silent": (
        "rtsps://127.0.0.1:{port}/cam",
        "silent",
        f"127.0.0.1:{{port}} accepted the connection but did not complete TLS within {SHORT_S} s "
        "(is it rtsp:// rather than rtsps://?)",
    ),
    "http ok": (
        "http://127.0.0.1:{port}/video.mjpg",
        HTTP_CAMERA,
        f"the address serves multipart/x-mixed-replace, {DECODE}",
    ),
    "http 404": (
        "http://127.0.0.1:{port}/mjpeg?pwd=x",
        HTTP_CAMERA,
        "no stream at path /mjpeg on this camera (HTTP 404): check the stream path",
    ),
    "http html": (
        "http://127.0.0.1:{port}/index.html",
        HTTP_CAMERA,
        "the address serves text/html, not a video stream",
    ),
    "http redirect": (
        "http://127.0.0.1:{port}/old",
        HTTP_CAMERA,
        "the address serves text/html, not a video stream",
    ),
    "http snapshot": (
        "http://127.0.0.1:{port}/snapshot.jpg",
        HTTP_CAMERA,
        "the address serves single pictures (image/jpeg), not a video stream",
    ),
    "http 503": (
        "http://127.0.0.1:{port}/busy",
        HTTP_CAMERA,
        "the camera answered HTTP 503 Service Unavailable (a fault or overload on the camera)",
    ),
    "http 401 no user": (
        "http://127.0.0.1:{port}/video.mjpg",
        HTTP_BASIC,
        "the camera wants a user name and password, and the address gives none (HTTP 401)",
    ),
    "http 401 wrong password": (
        f"http://{USER}:wrong@127.0.0.1:{{port}}/video.mjpg",
        HTTP_BASIC,
        "the camera refused the user name or password (HTTP 401)",
    ),
    "http basic ok": (
        f"http://{USER}:{PASSWORD}@127.0.0.1:{{port}}/video.mjpg",
        HTTP_BASIC,
        f"the address serves multipart/x-mixed-replace, {DECODE}",
    ),
    "https to plain": (
        "https://127.0.0.1:{port}/video.mjpg",
        HTTP_CAMERA,
        "127.0.0.1:{port} does not speak TLS: is it http:// rather than https://?",
    ),
}


def _port(
    server: Camera | str | None, serve: Callable[[Camera], int], listeners: Callable[[bool], int]
) -> int:
    if isinstance(server, Camera):
        return serve(server)
    if server == "closed":
        return free_port()
    if server in ("silent", "queue full"):
        return listeners(server == "queue full")
    return 0


@pytest.mark.parametrize(("url", "server", "cause"), CASES.values(), ids=CASES.keys())
def test_the_cause_is_named_within_the_timeout(
    url: str,
    server: Camera | str | None,
    cause: str,
    serve: Callable[[Camera], int],
    listeners: Callable[[bool], int],
) -> None:
    port = _port(server, serve, listeners)
    started = time.monotonic()
    found = why_not_open(url.format(port=port), SHORT_S)
    elapsed_s = time.monotonic() - started
    print(f"{url.format(port=port)!r} -> {found!r} ({elapsed_s:.2f} s)")
    assert found == cause.format(port=port)
    assert elapsed_s < SHORT_S + 0.25


def test_udp_transport_is_named_when_the_camera_answers(serve: Callable[[Camera], int]) -> None:
    port = serve(RTSP_CAMERA)
    found = why_not_open(f"rtsp://127.0.0.1:{port}/cam", SHORT_S, transport="udp")
    assert found == (
        f"the camera answers and offers H264 video, {DECODE}; "
        "with transport udp a firewall may drop the video packets: try transport tcp"
    )


@pytest.mark.parametrize(
    ("device", "cause"),
    [
        ("/dev/video-none", "no such device /dev/video-none"),
        (99, "no such device /dev/video99"),
        ("video-none", "no such device video-none"),
        (
            "/dev/null",
            "/dev/null opens, but OpenCV could not capture from it "
            "(busy in another program, or not a camera)",
        ),
        (
            "{tmp}/video0",
            "{tmp}/video0 is not a device (a V4L2 camera is a character device such as /dev/video0)",
        ),
    ],
)
def test_usb_devices(device: str | int, cause: str, tmp_path: Path) -> None:
    (tmp_path / "video0").write_bytes(b"")
    if isinstance(device, str):
        device = device.format(tmp=tmp_path)
    assert why_not_open(device, SHORT_S) == cause.format(tmp=tmp_path)


@pytest.mark.parametrize(
    ("url", "server"),
    [
        (f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{{port}}/cam", "closed"),
        (f"rtsp://{USER}:{PASSWORD}@camera-3.invalid/cam", None),
        (f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{{port}}/wrong", RTSP_DIGEST),
        (f"rtsp://{USER}:{PASSWORD}x@127.0.0.1:{{port}}/cam", RTSP_DIGEST),
        (f"http://127.0.0.1:{{port}}/cgi?user={USER}&pwd={PASSWORD}", HTTP_CAMERA),
        (f"http://{USER}:{PASSWORD}@127.0.0.1:{{port}}/index.html", HTTP_BASIC),
        (f"https://{USER}:{PASSWORD}@127.0.0.1:{{port}}/video.mjpg", HTTP_BASIC),
    ],
)
def test_credentials_never_appear_in_a_cause(
    url: str, server: Camera | str | None, serve: Callable[[Camera], int], listeners: Callable[[bool], int]
) -> None:
    found = why_not_open(url.format(port=_port(server, serve, listeners)), SHORT_S)
    assert found  # a cause, whatever it is, without the secrets
    assert PASSWORD not in found and USER not in found, found


def test_a_failing_probe_becomes_a_cause_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"rtsp://{USER}:{PASSWORD}@camera-3.example/cam")

    monkeypatch.setattr(diagnose.socket, "getaddrinfo", broken)
    found = why_not_open(f"rtsp://{USER}:{PASSWORD}@127.0.0.1/cam", SHORT_S)
    assert found == "the cause could not be found (RuntimeError while probing the camera)"


def _open_error(source: StreamSource) -> str:
    with pytest.raises(SourceError) as error:
        source._open()
    return str(error.value)


def test_the_open_error_carries_the_cause(serve: Callable[[Camera], int]) -> None:
    closed = free_port()
    rtsp = serve(RTSP_CAMERA)
    http = serve(HTTP_CAMERA)
    timeouts = {"open_timeout_s": 2, "read_timeout_s": 2}
    errors = [
        _open_error(
            StreamSource(RtspSourceConfig(type="rtsp", url=f"rtsp://127.0.0.1:{closed}/cam", **timeouts))
        ),
        _open_error(
            StreamSource(RtspSourceConfig(type="rtsp", url=f"rtsp://127.0.0.1:{rtsp}/wrong", **timeouts))
        ),
        _open_error(
            StreamSource(HttpSourceConfig(type="http", url=f"http://127.0.0.1:{http}/index.html", **timeouts))
        ),
        _open_error(StreamSource(UsbSourceConfig(type="usb", device="/dev/video-none", **timeouts))),
    ]
    print("\n".join(errors))
    assert errors == [
        f"cannot open rtsp://127.0.0.1:{closed}/cam: connection refused by 127.0.0.1:{closed} "
        "(nothing listens there: wrong port, or the camera is off)",
        f"cannot open rtsp://127.0.0.1:{rtsp}/wrong: no stream at path /wrong on this camera (RTSP 404): "
        "check the stream path",
        f"cannot open http://127.0.0.1:{http}/index.html: the address serves text/html, not a video stream",
        "cannot open usb /dev/video-none: no such device /dev/video-none",
    ]


def test_the_open_error_never_shows_credentials(serve: Callable[[Camera], int]) -> None:
    port = serve(RTSP_DIGEST)
    url = f"rtsp://{USER}:{PASSWORD}x@127.0.0.1:{port}/cam"
    message = _open_error(
        StreamSource(RtspSourceConfig(type="rtsp", url=url, open_timeout_s=2, read_timeout_s=2))
    )
    assert message == (
        f"cannot open rtsp://***@127.0.0.1:{port}/cam: "
        "the camera refused the user name or password (RTSP 401)"
    )


@pytest.mark.live_server
def test_a_real_rtsp_server_names_a_wrong_path() -> None:
    if not Path(DEBIAN_PYTHON).exists():
        pytest.fail("Debian's python3 with gi is missing: scripts/setup.sh --dev installs it")
    # The video is read only when a stream that exists is asked for: none is here.
    server = RtspServer(Path("never-read.avi"), ("cam",))
    server.start()
    try:
        found = why_not_open(f"rtsp://127.0.0.1:{server.port}/wrong", 5)
    finally:
        server.kill()
    assert found == "no stream at path /wrong on this camera (RTSP 404): check the stream path"


# --- files -------------------------------------------------------------------------------------


def _mp4(path: Path, frames: int = 30) -> bytes:
    """A real MP4 as FFmpeg writes it: ftyp, the frames (mdat), and the index (moov) last."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 8, np.uint8))
    writer.release()
    return path.read_bytes()


def _box(kind: bytes, payload: bytes, declared: int | None = None) -> bytes:
    return (declared or 8 + len(payload)).to_bytes(4, "big") + kind + payload


FTYP = _box(b"ftyp", b"isom\0\0\2\0isomiso2")
NO_INDEX = "an MP4/MOV file without its index (no moov box): the recording was cut off before it was "
NO_INDEX += "finished, or is still being written"
# (what the file holds, given the bytes of a real MP4; the cause)
FILES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda _: b"", "the file is empty (0 bytes): a recording that never started, or a failed copy"),
    "text": (
        lambda _: b"not a video",
        "not a video file: its first bytes match no video container "
        "(MP4/MOV, AVI, Matroska/WebM, MPEG-TS/PS, MJPEG)",
    ),
    "a recording cut off": (lambda mp4: mp4[: len(mp4) * 6 // 10], NO_INDEX),
    "no index, whole boxes": (lambda _: FTYP + _box(b"mdat", b"\0" * 100), NO_INDEX),
    "index cut off": (
        lambda _: FTYP + _box(b"moov", b"\0" * 100, declared=5000),
        "an MP4/MOV file whose index (moov box) is cut off: truncated, or a failed copy",
    ),
    "damaged after the index": (
        lambda _: FTYP + _box(b"moov", b"\0" * 100) + b"\xff" * 64,
        "an MP4/MOV file damaged after its index: truncated, or a failed copy",
    ),
    "an index without video": (
        lambda _: FTYP + _box(b"moov", b"\0" * 100),
        "an MP4/MOV file with its index that OpenCV could not open: a codec OpenCV lacks, or damaged",
    ),
    "an AVI header only": (
        lambda _: b"RIFF\0\0\0\0AVI LIST",
        "a video file (AVI) that OpenCV could not open: damaged, or a codec OpenCV lacks",
    ),
}


@pytest.mark.parametrize("case", FILES)
def test_a_video_file_that_does_not_open_names_why(case: str, tmp_path: Path) -> None:
    make, cause = FILES[case]
    path = tmp_path / "camera.mp4"
    path.write_bytes(make(_mp4(tmp_path / "real.mp4")))

    assert not cv2.VideoCapture(str(path)).isOpened()  # the cause is asked for only then
    assert why_file_not_open(path) == cause


def test_a_missing_video_file_is_named_and_never_raises(tmp_path: Path) -> None:
    assert why_file_not_open(tmp_path / "gone.mp4") == "the file cannot be read (No such file or directory)"

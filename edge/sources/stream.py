"""Live streams through OpenCV: RTSP, HTTP(S) MJPEG and USB (V4L2), with explicit timeouts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import cv2

from edge.config import HttpSourceConfig, RtspSourceConfig, UsbSourceConfig
from edge.sources.base import LazyFrame, SourceError, quiet_ffmpeg, reported_rate, retriever, stream_format
from edge.sources.diagnose import why_not_open

# OpenCV's FFmpeg backend reads its options from this variable when a capture opens; the lock keeps
# two cameras opening at once from seeing each other's transport.
FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
# FFmpeg probes a new stream for 5 s by default; half a second finds an IP camera's codec
# parameters, and a camera back from a reboot is then analysed again within a second.
PROBE_OPTIONS = "analyzeduration;500000|probesize;500000"
# FFmpeg decodes with a thread per core by default, each holding its own copy of the decoder's
# state and reference frames (docs/accuracy.md, "Memory": 3 MiB a camera). Each camera already has
# a thread of its own, and one core decodes a camera's stream many times over (8 streams of PETS,
# 768x576 at 10 frames/s, took under 1 % of a core each); a 4K stream at 25 frames/s might not.
DECODER_THREADS = 1
# OpenCV itself holds a global lock while a capture opens, so opens are serial anyway: a camera
# that times out opening delays other cameras' reconnects (never their running streams).
_open_lock = threading.Lock()


def redact(url: str) -> str:
    """The URL without its user name and password, for logs and errors."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


# A live stream is decoded whole, every frame it sends, whatever rate it is analysed at. Above this
# many pixels a second (1280x720 at 10 frames/s) decoding takes a share of the box worth naming:
# on 2 cores, cameras sending 3 MP at 25 frames/s left room for 4, at 640x480 and 5 frames/s for 8
# (docs/accuracy.md, "What the cameras send").
HEAVY_STREAM_PX_S = 1280 * 720 * 10


def heavy_stream(width: int, height: int, fps: float | None) -> str | None:
    """What to tell the installer where a live stream sends more pixels a second than
    HEAVY_STREAM_PX_S; None below, or where its rate is unknown."""
    rate = None if fps is None else reported_rate(fps)
    if rate is None or width * height * rate <= HEAVY_STREAM_PX_S:
        return None
    return (
        f"sends {width}x{height} at {rate:g} frames/s, and the box decodes every frame it receives, "
        "analysed or not: give it the camera's second stream, about 640x480 to 1280x720 at 5 "
        'frames/s and 1 Mbit/s or more (installer guide, "Live cameras")'
    )


class StreamSource:
    """Frames of a live stream, time-stamped on arrival with the monotonic clock.

    `frames()` only grabs (receives and demuxes); a frame is decoded when the caller decodes it,
    so frames that are not analysed cost no decoding. A frame whose stream timestamp did not
    advance is a repeat (frozen encoders resend the last frame) and is not delivered, so the
    stall watchdog sees the freeze.
    """

    def __init__(self, config: RtspSourceConfig | HttpSourceConfig | UsbSourceConfig) -> None:
        self.config = config
        self.name = redact(config.url) if not isinstance(config, UsbSourceConfig) else f"usb {config.device}"
        self._capture: cv2.VideoCapture | None = None
        self._outage_cause: str | None = None  # found by probing once per outage, not per attempt

    def _open(self) -> cv2.VideoCapture:
        quiet_ffmpeg()
        c = self.config
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(c.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(c.read_timeout_s * 1000),
        ]
        if isinstance(c, UsbSourceConfig):
            capture = cv2.VideoCapture(c.device, cv2.CAP_V4L2, timeouts)
        else:
            options = PROBE_OPTIONS
            if isinstance(c, RtspSourceConfig):
                options = f"rtsp_transport;{c.transport}|{options}"
            with _open_lock:
                previous = os.environ.get(FFMPEG_OPTIONS)
                os.environ[FFMPEG_OPTIONS] = options
                try:
                    capture = cv2.VideoCapture(
                        c.url, cv2.CAP_FFMPEG, [*timeouts, cv2.CAP_PROP_N_THREADS, DECODER_THREADS]
                    )
                finally:
                    if previous is None:
                        os.environ.pop(FFMPEG_OPTIONS, None)
                    else:
                        os.environ[FFMPEG_OPTIONS] = previous
        if not capture.isOpened():
            capture.release()
            if self._outage_cause is None:
                self._outage_cause = self._why_not_open()
            raise SourceError(f"cannot open {self.name}: {self._outage_cause}")
        self._outage_cause = None
        return capture

    def _why_not_open(self) -> str:
        """Asked only once OpenCV has failed, outside the open lock: the probe costs a round trip."""
        c = self.config
        if isinstance(c, UsbSourceConfig):
            return why_not_open(c.device, c.open_timeout_s)
        transport = c.transport if isinstance(c, RtspSourceConfig) else None
        return why_not_open(c.url, c.open_timeout_s, transport=transport)

    def frames(self) -> Iterator[LazyFrame]:
        self._capture = capture = self._open()
        last_position = -1.0
        while capture.grab():
            position = capture.get(cv2.CAP_PROP_POS_MSEC)
            if position > 0 and position == last_position:
                continue  # the same frame again (a server that restarts its clock is fine)
            last_position = position
            yield LazyFrame(time.monotonic(), time.time(), retriever(capture))
        # grab() failed: the stream ended, broke, or sent nothing within the read timeout.

    def stream_format(self) -> tuple[float, int] | None:
        """(frame rate, FOURCC code) of the open stream, while `frames()` runs (for `wartezone check`)."""
        return stream_format(self._capture)

    def decoding_warning(self) -> str | None:
        """heavy_stream of the open stream, at the size and rate it reports (None while none is open)."""
        capture = self._capture
        if capture is None:
            return None
        width, height = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        return heavy_stream(width, height, float(capture.get(cv2.CAP_PROP_FPS)))

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

"""`wartezone check`: an installer's checks of a site, one line each, in words to act on.

Run when asked, never inside `edge run`: each camera opens and delivers one frame (its size, frame
rate and codec), that frame goes through the camera's pipeline, the model file is checked against
its manifest, the metrics port is tried, and the API's clock is compared with this box's.
"""

from __future__ import annotations

import contextlib
import errno
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal

from edge.config import (
    CameraConfig,
    Config,
    FileSourceConfig,
    HttpSourceConfig,
    RtspSourceConfig,
    SourceConfig,
    UsbSourceConfig,
    camera_floor,
    room_cameras,
)
from edge.detect import Detector, ModelError, build_detector, verify_model
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.server import StartResponse, listen
from edge.sources import FileSource, Frame, FrameSource, SourceError, open_source
from edge.sources.base import reported_rate
from edge.sources.stream import StreamSource, heavy_stream
from edge.zones.camera_floor import seen_share
from edge.zones.layout import layout_warnings

# Alert durations are measured on the edge's clock and compared with the API's: beyond these
# differences (seconds) the alerts' start times and the API's own timestamps disagree visibly.
CLOCK_WARN_S = 2.0
CLOCK_FAIL_S = 30.0
# The HTTP Date header counts whole seconds: asking again until its second turns over narrows the
# difference to about one round trip. Asked for at most this long, this often.
CLOCK_SAMPLE_S = 1.2
CLOCK_EVERY_S = 0.05
CLOCK_TIMEOUT_S = 5.0

# A room seen less than this much by its cameras is named: its people out of view are not counted.
ROOM_SEEN_WARN = 0.95

Status = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    status: Status
    text: str

    def line(self) -> str:
        return f"{self.status:<4} {self.text}"


def source_for(address: str) -> SourceConfig:
    """The source `--camera ADDRESS` names: a stream URL, a USB device (0, /dev/video0), or a file."""
    if address.startswith(("rtsp://", "rtsps://")):
        return RtspSourceConfig(type="rtsp", url=address)
    if address.startswith(("http://", "https://")):
        return HttpSourceConfig(type="http", url=address)
    if address.isdigit():
        return UsbSourceConfig(type="usb", device=int(address))
    if address.startswith("/dev/"):
        return UsbSourceConfig(type="usb", device=address)
    return FileSourceConfig(path=Path(address))


def site_checks(config: Config, api_url: str | None = None) -> Iterator[Finding]:
    """Every check of a site's config, in order, each as soon as it is done."""
    model = _check_model(config)
    yield model
    detector: Detector | None = None
    detector_failed = model.status == "FAIL"
    for camera in config.cameras:
        yield from (Finding("warn", warning) for warning in layout_warnings(camera))
        opened, frame = _open_once(_label(camera.id), camera.source)
        yield from opened
        if frame is None:
            continue
        if detector_failed:
            yield Finding("FAIL", f"camera {camera.id}: frame not analysed: the model did not pass")
            continue
        if detector is None:
            try:
                detector = build_detector(config.detector)
            except (ModelError, ImportError, RuntimeError) as error:
                detector_failed = True
                yield Finding("FAIL", f"detector ({config.detector.type}) cannot be built: {error}")
                continue
        yield _analyse_once(config, camera, detector, frame)
    yield from floor_checks(config)
    yield check_metrics_port(config.metrics.host, config.metrics.port)
    if api_url is not None:
        yield check_clock(api_url)


def camera_checks(address: str, api_url: str | None = None) -> Iterator[Finding]:
    """The checks of one camera named on the command line, without a config: it opens, and reads."""
    yield from _open_once(_label(None), source_for(address))[0]
    if api_url is not None:
        yield check_clock(api_url)


def _label(camera_id: str | None) -> str:
    return f"camera {camera_id}" if camera_id is not None else "camera"


def _check_model(config: Config) -> Finding:
    try:
        manifest = verify_model(config.detector.model)
    except ModelError as error:
        return Finding("FAIL", f"model: {error}: fix detector.model, or put back the file its manifest names")
    return Finding(
        "ok", f"model {config.detector.model} matches its manifest (sha256 {manifest.sha256[:12]}...)"
    )


def _open_once(label: str, config: SourceConfig) -> tuple[list[Finding], Frame | None]:
    """Open the source, decode its first frame, close it: what it delivers, or why it does not; for
    a live stream that costs the box much to decode, a warning too."""
    source = open_source(config)
    name = str(config.path) if isinstance(config, FileSourceConfig) else source.name
    try:
        for pending in source.frames():
            frame = pending.decode()
            if frame is None:
                return [
                    Finding("FAIL", f"{label}: {name} opens, but its first frame cannot be decoded")
                ], None
            height, width = frame.image.shape[:2]
            fps, codec = _stream_format(source)
            opened = [Finding("ok", f"{label}: {name} opens: {width}x{height}, {_rate(fps)}, {codec}")]
            if not isinstance(config, FileSourceConfig) and (heavy := heavy_stream(width, height, fps)):
                opened.append(Finding("warn", f"{label}: {heavy}"))
            return opened, frame
    except SourceError as error:
        return [Finding("FAIL", f"{label}: {error}")], None
    finally:
        source.close()
    if isinstance(config, FileSourceConfig):
        return [Finding("FAIL", f"{label}: {name} opens, but holds no frame")], None
    wait = f"within {config.read_timeout_s:g} s (source.read_timeout_s)"
    return [
        Finding("FAIL", f"{label}: {name} opens, but sent no frame {wait}: is the camera streaming?")
    ], None


def _stream_format(source: FrameSource) -> tuple[float | None, str]:
    """(frame rate, None where unknown; codec, as words) of the open capture behind `source`."""
    found = source.stream_format() if isinstance(source, StreamSource | FileSource) else None
    if found is None:
        return None, "codec unknown"
    fps, fourcc = found
    return reported_rate(fps), _fourcc_text(fourcc)


def _rate(fps: float | None) -> str:
    return "frame rate unknown" if fps is None else f"{fps:.1f} frames/s"


def _fourcc_text(code: int) -> str:
    """A FOURCC code as its four letters (h264, MJPG), or 'codec unknown'."""
    text = bytes((code >> shift) & 0xFF for shift in (0, 8, 16, 24)).decode("latin-1").strip("\0 ")
    return text if text and text.isprintable() and text.isascii() else "codec unknown"


def _analyse_once(config: Config, camera: CameraConfig, detector: Detector, frame: Frame) -> Finding:
    # One frame, analysed as it is each time: no gate letting an earlier detection stand.
    settings = config.detector.model_copy(update={"motion_gate": None})
    pipeline = CameraPipeline(camera, detector, config.tracker, settings=settings)
    runner = CameraRunner(camera, pipeline)
    # The tracker counts a person once seen in `confirm_frames` frames: the one frame goes through
    # that often, a camera's frame interval apart, as a room that stands still would.
    result = None
    for k in range(config.tracker.confirm_frames):
        later = replace(
            frame, time_s=frame.time_s + k / camera.fps, wall_time=frame.wall_time + k / camera.fps
        )
        result = runner.analyse(later)
        if result is None:
            break
    if result is None:
        return Finding("FAIL", f"camera {camera.id}: analysing its frame failed (the cause is logged above)")
    found = ", ".join(f"{r.zone} {_people(r.occupancy)}" for r in result.zones)
    if not result.zones:
        found = f"{_people(result.people)} in the picture (no zones: it counts for its rooms)"
    return Finding("ok", f"camera {camera.id}: one frame analysed: {found}")


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def floor_checks(config: Config) -> Iterator[Finding]:
    """Each camera's floor calibration (how far its point pairs disagree, in cm) and each room: how
    much of its floor this box's cameras see, or that none does (then only member zones count it)."""
    footprints = {}
    for camera in config.cameras:
        floor = camera_floor(camera)  # the config was loaded: every calibration fits
        if floor is None:
            continue
        footprints[camera.id] = floor.footprint
        label = f"camera {camera.id}: floor calibration"
        if floor.fit is None:
            yield Finding(
                "ok", f"{label} from {camera.floor_calibration and camera.floor_calibration.opencv}"
            )
        elif floor.warning is not None:
            yield Finding("warn", f"{label}: {floor.warning}: measure the marks again, or add pairs")
        else:
            pairs = int(floor.fit.inliers.sum())
            yield Finding("ok", f"{label}: {pairs} point pairs agree within {floor.fit.rms_cm:.0f} cm (RMS)")
    seeing = room_cameras(config)
    for room in config.floor.rooms if config.floor else []:
        cameras = seeing.get(room.id, [])
        if not cameras:
            zones = [f"{c.id}/{z.id}" for c in config.cameras for z in c.zones if z.room == room.id]
            yield Finding(
                "warn",
                f"room {room.id}: no calibrated camera of this box sees it; only its zones "
                f"({', '.join(zones)}) count it, added by the API",
            )
            continue
        share = seen_share(room.polygon, [footprints[c] for c in cameras])
        text = f"room {room.id}: {share:.0%} of its floor seen by {', '.join(cameras)}"
        if share < ROOM_SEEN_WARN:
            yield Finding("warn", f"{text}: people elsewhere in it are not counted")
        else:
            yield Finding("ok", text)


def check_metrics_port(host: str, port: int) -> Finding:
    """Whether `edge run` could listen on host:port now (port 0: it picks a free one). Tried with the
    edge's own bind: a port whose last connections wait in TIME-WAIT after the edge stopped is free
    to it, a live listener is not."""
    where = f"metrics port {port} on {host}"
    if port == 0:
        return Finding("ok", f"{where}: a free port is picked at start")
    try:
        listen(host, port, _no_page).server_close()
    except socket.gaierror:
        return Finding(
            "FAIL",
            f"{where}: metrics.host {host} is not an IPv4 address or a name of one: change metrics.host",
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return Finding(
                "FAIL", f"{where} is in use (another wartezone edge?): change metrics.port or stop it"
            )
        if error.errno == errno.EACCES:
            return Finding("FAIL", f"{where} needs root (below 1024): change metrics.port to 1024 or above")
        if error.errno == errno.EADDRNOTAVAIL:
            return Finding("FAIL", f"{where}: {host} is not an address of this box: change metrics.host")
        return Finding(
            "FAIL", f"{where} cannot be used ({error.strerror}): change metrics.host or metrics.port"
        )
    return Finding("ok", f"{where} is free")


def _no_page(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The probe's server never serves: it is closed as soon as it is bound."""
    return []


def check_clock(api_url: str) -> Finding:
    """This box's clock against the API's, from the Date header of its answers."""
    label = f"clock: the API at {api_url}"
    low, high = -math.inf, math.inf  # the API's clock minus this box's lies within [low, high]
    started = time.monotonic()
    while time.monotonic() - started < CLOCK_SAMPLE_S and high - low > 0.2:
        try:
            sent = time.time()
            date = _date_header(api_url)
            answered = time.time()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            return Finding("FAIL", f"{label} does not answer ({reason}): check --api, or start wartezone api")
        if date is None:
            return Finding("warn", f"{label} sends no Date header: the clocks cannot be compared")
        # The Date header truncates to the second: the API's time lay in [date, date + 1).
        new_low, new_high = max(low, date - answered), min(high, date + 1 - sent)
        if new_low > new_high:  # a clock that stepped meanwhile: the latest answer alone
            new_low, new_high = date - answered, date + 1 - sent
        low, high = new_low, new_high
        time.sleep(CLOCK_EVERY_S)
    difference = (low + high) / 2
    if abs(difference) <= CLOCK_WARN_S:
        return Finding("ok", f"clock: this box and the API at {api_url} agree within {max(-low, high):.1f} s")
    side = "ahead of" if difference > 0 else "behind"
    status: Status = "FAIL" if abs(difference) > CLOCK_FAIL_S else "warn"
    return Finding(
        status,
        f"{label} is {abs(difference):.1f} s {side} this box: alert durations would be off; "
        "set both clocks by NTP (timedatectl set-ntp true)",
    )


def _date_header(url: str) -> float | None:
    """The Date header of the answer to GET url as Unix time; any status carries one."""
    request = urllib.request.Request(url, headers={"User-Agent": "wartezone-check"})
    try:
        with urllib.request.urlopen(request, timeout=CLOCK_TIMEOUT_S) as answer:
            date = answer.headers.get("Date")
    except urllib.error.HTTPError as error:  # a 401 or 404 still says the time
        date = error.headers.get("Date")
        with contextlib.suppress(OSError):
            error.close()
    return None if date is None else parsedate_to_datetime(date).timestamp()

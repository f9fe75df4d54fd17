"""Why a camera did not open, in words an installer acts on.

OpenCV says only that a capture did not open (FFmpeg's own messages are silenced: they repeat at
every attempt and can carry the URL). After it failed, `why_not_open` probes the camera itself,
with the standard library: the device file of a USB camera; for a stream, the host name, the TCP
port, TLS, and one request in the camera's protocol (RTSP DESCRIBE, HTTP GET) whose answer names
the cause: wrong credentials, wrong stream path, a web page instead of video. `why_file_not_open`
does the same for a video file, from its first bytes: empty, not a video, an MP4 without its index.

A cause names the host, port and path, never the URL: credentials (in the user part or in the
query, as some cameras take them) never appear in it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import ipaddress
import logging
import os
import re
import secrets
import socket
import ssl
import stat
import threading
import time
from base64 import b64encode
from dataclasses import dataclass, replace
from typing import Any, BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
AGENT = "wartezone-check"
_MAX_ANSWER_BYTES = 64 * 1024  # headers, and an RTSP answer's SDP; cameras send a few hundred bytes
_MAX_REDIRECTS = 3
# The answer to a TLS hello from a server that does not speak TLS (plain RTSP or HTTP on the port).
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"}
_CHALLENGE_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
# (family, socket address) of one address a host name stands for
_Address = tuple[socket.AddressFamily, tuple[Any, ...]]


def why_not_open(source: str | int, timeout_s: float, *, transport: str | None = None) -> str:
    """The likely cause, in one short sentence, why OpenCV could not open `source`.

    `source` is what a camera's config names: an rtsp://, rtsps://, http:// or https:// URL, a V4L2
    device path (/dev/video0) or index (0). Call it only after OpenCV failed to open the source: it
    costs a round trip to the camera. Everything it does is bounded by `timeout_s` in all (a host
    name lookup that outlasts it is left to finish in a background thread). `transport` is the
    RTSP transport configured ("tcp" or "udp"), for the advice when the camera answers correctly.

    Never raises: a failure of the probe itself becomes a cause naming the exception type. This is
    the probe that a `wartezone check --camera URL` command calls when its own open fails.
    """
    try:
        if isinstance(source, int) or (source and "://" not in source):
            return _why_device_not_open(source)
        return _why_address_not_open(source, _Deadline(timeout_s), transport)
    except _Cause as cause:
        return str(cause)
    except Exception as error:  # noqa: BLE001 - advisory: the probe must never hide the open error
        # The exception's text could quote the address, credentials included: only its type is kept.
        log.debug("probing a camera that did not open failed: %s", type(error).__name__)
        return f"the cause could not be found ({type(error).__name__} while probing the camera)"


class _Cause(Exception):
    """The cause found: raised where it is found, returned by `why_not_open`."""


class _Deadline:
    """One time budget for the whole probe: lookup, connection, TLS and every request."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.end = time.monotonic() + timeout_s

    def left_s(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def __str__(self) -> str:
        return f"{self.timeout_s:g} s"


# --- files -------------------------------------------------------------------------------------

_FILE_HEAD_BYTES = 64 * 1024  # enough for any container's signature and an MP4's leading boxes
_MP4_BOX_LIMIT = 1000  # top-level boxes examined; real files have a handful
# The first bytes of the containers OpenCV's FFmpeg reads from cameras' and recorders' files.
_CONTAINER_MAGIC = (
    (0, b"RIFF", "AVI"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM"),
    (0, b"G", "MPEG-TS"),  # the sync byte; checked again one packet on
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
    (0, b"\xff\xd8\xff", "MJPEG"),
)


def why_file_not_open(path: str | os.PathLike[str]) -> str:
    """The likely cause, in one short sentence, why OpenCV could not open the video file `path`
    (what FFmpeg would have printed as `moov atom not found` or `Invalid data found`). Reads at
    most the first 64 KiB and the headers of an MP4's top-level boxes. Never raises."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(_FILE_HEAD_BYTES)
            if size == 0:
                return "the file is empty (0 bytes): a recording that never started, or a failed copy"
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
                return _why_mp4(file, size)
    except PermissionError:
        return "no permission to read the file (the service's user must be able to read it)"
    except OSError as error:
        return f"the file cannot be read ({error.strerror or type(error).__name__})"
    for offset, magic, name in _CONTAINER_MAGIC:
        if head.startswith(magic, offset) and (name != "MPEG-TS" or head[188:189] == b"G"):
            return f"a video file ({name}) that OpenCV could not open: damaged, or a codec OpenCV lacks"
    return (
        "not a video file: its first bytes match no video container "
        "(MP4/MOV, AVI, Matroska/WebM, MPEG-TS/PS, MJPEG)"
    )


def _why_mp4(file: BinaryIO, size: int) -> str:
    """An MP4/MOV: its top-level boxes, walked by their sizes. The index (moov) is what FFmpeg
    needs before any frame, and a recorder writes it last."""
    offset, seen, problem = 0, list[bytes](), ""
    while offset < size and len(seen) < _MP4_BOX_LIMIT:
        file.seek(offset)
        header = file.read(16)
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if length == 1 and len(header) == 16:
            length = int.from_bytes(header[8:16], "big")
        elif length == 0:
            length = size - offset  # the box runs to the end of the file
        if len(header) < 8 or length < 8 or not kind.isalnum():
            problem = "damaged"  # no box header where the box before it ends
            break
        seen.append(kind)
        if offset + length > size:
            problem = "cut off"
            break
        offset += length
    if seen[-1:] == [b"moov"] and problem == "cut off":
        return "an MP4/MOV file whose index (moov box) is cut off: truncated, or a failed copy"
    if b"moov" not in seen:
        return (
            "an MP4/MOV file without its index (no moov box): the recording was cut off before it "
            "was finished, or is still being written"
        )
    if problem:
        return f"an MP4/MOV file {problem} after its index: truncated, or a failed copy"
    return "an MP4/MOV file with its index that OpenCV could not open: a codec OpenCV lacks, or damaged"


# --- USB ---------------------------------------------------------------------------------------


def _why_device_not_open(device: int | str) -> str:
    path = f"/dev/video{device}" if isinstance(device, int) else device
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"no such device {path}"
    if not stat.S_ISCHR(mode):
        return f"{path} is not a device (a V4L2 camera is a character device such as /dev/video0)"
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except PermissionError:
        return f"no permission to open {path} (add the service's user to the video group)"
    except OSError as error:
        return f"{path} cannot be opened ({error.strerror})"
    os.close(fd)
    return f"{path} opens, but OpenCV could not capture from it (busy in another program, or not a camera)"


# --- network streams ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as requested
    user: str | None
    password: str | None

    @property
    def protocol(self) -> str:
        return "RTSP" if self.scheme.startswith("rtsp") else "HTTP"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def path(self) -> str:
        """The path alone: some cameras take credentials in the query, so a cause never shows it."""
        return self.target.split("?", 1)[0] or "/"

    @property
    def request_uri(self) -> str:
        """RTSP requests name the absolute URL, without its credentials."""
        return f"{self.scheme}://{self.address}{self.target}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # names in lower case, in the order sent
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def every(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def __str__(self) -> str:
        return f"{self.status} {self.reason}".strip()


def _parse_target(url: str) -> _Target:
    if not url:
        raise _Cause("no address given")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _Cause(f"the address is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _Cause(f"unsupported address type {scheme or 'none'!r} (rtsp, rtsps, http or https)")
    if not parts.hostname:
        raise _Cause("the address names no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(
        scheme=scheme,
        host=parts.hostname,
        port=port if port is not None else DEFAULT_PORTS[scheme],
        target=target,
        user=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _why_address_not_open(url: str, deadline: _Deadline, transport: str | None) -> str:
    where = _parse_target(url)
    if where.protocol == "RTSP":
        return _why_rtsp(where, deadline, transport)
    return _why_http(where, deadline, redirects=0)


def _resolve(where: _Target, deadline: _Deadline) -> list[_Address]:
    """Every address the host name stands for."""
    try:
        ipaddress.ip_address(where.host)
    except ValueError:
        pass
    else:
        return _addresses(where.host, where.port, socket.AI_NUMERICHOST)
    # getaddrinfo takes no timeout: it runs in a thread that may outlive the probe, harmlessly.
    found: list[list[_Address]] = []
    failed: list[socket.gaierror] = []

    def lookup() -> None:
        try:
            found.append(_addresses(where.host, where.port, 0))
        except socket.gaierror as error:
            failed.append(error)

    thread = threading.Thread(target=lookup, name="camera-dns", daemon=True)
    thread.start()
    with contextlib.suppress(TimeoutError):  # the budget is spent: the lookup did not finish
        thread.join(deadline.left_s())
    if found:
        return found[0]
    if not failed:
        slow = f"host name {where.host} was not resolved within {deadline}"
        raise _Cause(f"{slow} (DNS server slow or unreachable)")
    error = failed[0]
    if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        raise _Cause(f"host name {where.host} does not resolve (DNS)")
    if error.errno == socket.EAI_AGAIN:
        raise _Cause(f"host name {where.host} could not be looked up: the DNS server did not answer")
    raise _Cause(f"host name {where.host} could not be looked up ({error.strerror})")


def _addresses(host: str, port: int, flags: int) -> list[_Address]:
    return [
        (family, address)
        for family, _, _, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)
    ]


def _connect(where: _Target, deadline: _Deadline) -> socket.socket:
    """A connected socket (TLS-wrapped for rtsps and https), or the cause why there is none."""
    cause = ""
    for family, address in _resolve(where, deadline):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.left_s())
            sock.connect(address)
        except ConnectionRefusedError:
            cause = f"connection refused by {where.address}"
            cause += " (nothing listens there: wrong port, or the camera is off)"
        except TimeoutError:
            cause = f"no answer from {where.address} within {deadline}"
            cause += " (firewall, wrong address, or the camera is off)"
        except OSError as error:
            if error.errno == errno.EHOSTUNREACH:
                cause = f"no route to {where.host} (wrong address or subnet, or the camera is off)"
            elif error.errno == errno.ENETUNREACH:
                cause = f"the network of {where.host} cannot be reached from here (routing or cabling)"
            else:
                cause = f"cannot connect to {where.address} ({error.strerror or type(error).__name__})"
        else:
            return _tls(sock, where, deadline) if where.scheme in ("rtsps", "https") else sock
        sock.close()
    raise _Cause(cause)


def _tls(sock: socket.socket, where: _Target, deadline: _Deadline) -> socket.socket:
    # OpenCV's FFmpeg does not verify a camera's certificate (cameras' are self-signed), so neither
    # does the probe: a certificate is not why OpenCV failed.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock.settimeout(deadline.left_s())
        return context.wrap_socket(sock, server_hostname=where.host)
    except ssl.SSLError as error:
        sock.close()
        if error.reason in _NOT_TLS:
            plain = where.scheme.removesuffix("s")
            cause = f"{where.address} does not speak TLS: is it {plain}:// rather than {where.scheme}://?"
            raise _Cause(cause) from None
        raise _Cause(f"TLS with {where.address} failed ({error.reason or type(error).__name__})") from None
    except TimeoutError:
        sock.close()
        plain = where.scheme.removesuffix("s")
        cause = f"{where.address} accepted the connection but did not complete TLS within {deadline}"
        raise _Cause(f"{cause} (is it {plain}:// rather than {where.scheme}://?)") from None
    except OSError:
        sock.close()
        raise _Cause(f"{where.address} closed the connection during TLS (not a TLS port?)") from None


def _exchange(
    sock: socket.socket, where: _Target, deadline: _Deadline, request: bytes, read_body: bool
) -> _Answer:
    """Sends one request and reads its answer: the status line, headers, and (if asked for) the body."""
    closed = f"{where.address} closed the connection without an {where.protocol} answer"
    data = b""
    try:
        sock.settimeout(deadline.left_s())
        sock.sendall(request)
        while b"\r\n\r\n" not in data:
            if len(data) > _MAX_ANSWER_BYTES:
                raise _Cause(_not_protocol(where))
            sock.settimeout(deadline.left_s())
            chunk = sock.recv(4096)
            if not chunk:
                raise _Cause(f"{closed} (another service on this port?)")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        answer = _parse_answer(head, where)
        declared = answer.header("content-length") or ""
        length = int(declared) if declared.isdecimal() else 0
        while read_body and len(body) < min(length, _MAX_ANSWER_BYTES):
            sock.settimeout(deadline.left_s())
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    except TimeoutError:
        silent = f"{where.address} accepted the connection but sent no {where.protocol} answer"
        raise _Cause(
            f"{silent} within {deadline} (another service on this port, or the camera hung)"
        ) from None
    except (ConnectionResetError, BrokenPipeError):
        raise _Cause(f"{closed} (it reset the connection)") from None
    return _Answer(answer.status, answer.reason, answer.headers, body)


def _parse_answer(head: bytes, where: _Target) -> _Answer:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith(f"{where.protocol}/") or not code.isdecimal():
        raise _Cause(_not_protocol(where))
    headers = []
    for line in lines:
        name, separator, value = line.partition(":")
        if separator:
            headers.append((name.strip().lower(), value.strip()))
    return _Answer(int(code), reason.strip(), tuple(headers), b"")


def _not_protocol(where: _Target) -> str:
    return f"{where.address} answers, but not in {where.protocol} (another service on this port?)"


def _authorization(answer: _Answer, where: _Target, method: str, uri: str) -> str | None:
    """The Authorization header answering the camera's challenge (Digest preferred), or None
    when it asks for a method not spoken here."""
    challenges: dict[str, str] = {}
    for value in answer.every("www-authenticate"):
        scheme, _, rest = value.partition(" ")
        challenges.setdefault(scheme.lower(), rest)
    user, password = where.user or "", where.password or ""
    if "digest" in challenges:
        found = _CHALLENGE_PARAM.findall(challenges["digest"])
        params = {name.lower(): quoted or bare for name, quoted, bare in found}
        return _digest(params, user, password, method, uri)
    if "basic" in challenges:
        return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")
    return None


def _digest(params: dict[str, str], user: str, password: str, method: str, uri: str) -> str | None:
    algorithm = params.get("algorithm", "MD5")
    name = algorithm.upper().removesuffix("-SESS")
    if name not in ("MD5", "SHA-256"):
        return None

    def h(text: str) -> str:
        return hashlib.new(name.replace("-", "").lower(), text.encode()).hexdigest()

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce = secrets.token_hex(8)
    secret = h(f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        secret = h(f"{secret}:{nonce}:{cnonce}")
    request = h(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in [q.strip() for q in params.get("qop", "").split(",")]:
        response = h(f"{secret}:{nonce}:00000001:{cnonce}:auth:{request}")
        fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = h(f"{secret}:{nonce}:{request}")
    fields.append(f'response="{response}"')
    if "algorithm" in params:
        fields.append(f"algorithm={algorithm}")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def _refused(answer: _Answer, where: _Target, authorized: bool) -> str:
    """The cause for a 401, before or after answering the challenge."""
    code = f"{where.protocol} 401"
    if not where.user:
        return f"the camera wants a user name and password, and the address gives none ({code})"
    if authorized:
        return f"the camera refused the user name or password ({code})"
    offered = ", ".join(value.partition(" ")[0] for value in answer.every("www-authenticate")) or "none"
    return f"the camera asks for a log-in method this check does not speak ({offered}; {code})"


def _status_cause(answer: _Answer, where: _Target) -> str:
    code = f"{where.protocol} {answer}"
    if answer.status == 404:
        return f"no stream at path {where.path} on this camera ({where.protocol} 404): check the stream path"
    if answer.status == 403:
        return f"the camera refused access ({code}): the user may not view video, or is locked out"
    if answer.status >= 500:
        return f"the camera answered {code} (a fault or overload on the camera)"
    return f"the camera answered {code}"


def _why_rtsp(where: _Target, deadline: _Deadline, transport: str | None) -> str:
    uri = where.request_uri
    lines = [f"DESCRIBE {uri} RTSP/1.0", "CSeq: 1", "Accept: application/sdp", f"User-Agent: {AGENT}"]
    sock = _connect(where, deadline)
    try:
        answer = _exchange(sock, where, deadline, _request(lines), read_body=True)
        if answer.status == 401 and where.user:
            authorization = _authorization(answer, where, "DESCRIBE", uri)
            if authorization is None:
                return _refused(answer, where, authorized=False)
            if (answer.header("connection") or "").lower() == "close":  # some cameras hang up on a 401
                sock.close()
                sock = _connect(where, deadline)
            lines[1] = "CSeq: 2"
            lines.append(f"Authorization: {authorization}")
            answer = _exchange(sock, where, deadline, _request(lines), read_body=True)
            if answer.status == 401:
                return _refused(answer, where, authorized=True)
        if answer.status == 401:
            return _refused(answer, where, authorized=False)
        if answer.status != 200:
            return _status_cause(answer, where)
    finally:
        sock.close()
    codecs = _video_codecs(answer.body.decode("latin-1"))
    if codecs is None:
        return "the camera answers at this path but offers no video (audio only, or another path's stream?)"
    offer = f"{codecs} video" if codecs else "video"
    cause = f"the camera answers and offers {offer}, but OpenCV could not open or decode it"
    cause += " (codec or format)"
    if transport == "udp":
        cause += "; with transport udp a firewall may drop the video packets: try transport tcp"
    return cause


def _video_codecs(sdp: str) -> str | None:
    """The codec names of the SDP's video tracks ("H264"), "" if unnamed, None without video."""
    payloads: list[str] = []
    names: dict[str, str] = {}
    for line in sdp.splitlines():
        if line.startswith("m=video"):
            payloads += line.split()[3:]
        elif line.startswith("a=rtpmap:"):
            payload, _, encoding = line.removeprefix("a=rtpmap:").partition(" ")
            names[payload] = encoding.split("/")[0]
    if not payloads:
        return None
    return "/".join(dict.fromkeys(names[p] for p in payloads if p in names))


def _why_http(where: _Target, deadline: _Deadline, redirects: int) -> str:
    default_port = where.port == DEFAULT_PORTS[where.scheme]
    lines = [
        f"GET {where.target} HTTP/1.1",
        f"Host: {where.address.rpartition(':')[0] if default_port else where.address}",
        f"User-Agent: {AGENT}",
        "Accept: */*",
        "Connection: close",
    ]
    answer = _http_get(where, deadline, lines)
    if answer.status == 401 and where.user:
        authorization = _authorization(answer, where, "GET", where.target)
        if authorization is None:
            return _refused(answer, where, authorized=False)
        answer = _http_get(where, deadline, [*lines, f"Authorization: {authorization}"])
        if answer.status == 401:
            return _refused(answer, where, authorized=True)
    if answer.status == 401:
        return _refused(answer, where, authorized=False)
    location = answer.header("location")
    if answer.status in (301, 302, 303, 307, 308) and location and redirects < _MAX_REDIRECTS:
        # Credentials carry over to the same host only, as FFmpeg does.
        moved = _parse_target(urljoin(f"{where.scheme}://{where.address}{where.target}", location))
        if moved.host == where.host and moved.user is None:
            moved = replace(moved, user=where.user, password=where.password)
        return _why_http(moved, deadline, redirects + 1)
    if answer.status != 200:
        return _status_cause(answer, where)
    content_type = (answer.header("content-type") or "").partition(";")[0].strip().lower()
    if content_type.startswith("image/"):
        return f"the address serves single pictures ({content_type}), not a video stream"
    if content_type.startswith("text/") or content_type in ("application/json", "application/xml"):
        return f"the address serves {content_type}, not a video stream"
    shown = content_type or "an unnamed type"
    return f"the address serves {shown}, but OpenCV could not open or decode it (codec or format)"


def _http_get(where: _Target, deadline: _Deadline, lines: list[str]) -> _Answer:
    with _connect(where, deadline) as sock:
        return _exchange(sock, where, deadline, _request(lines), read_body=False)


def _request(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

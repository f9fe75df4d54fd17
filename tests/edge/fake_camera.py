"""A small camera on 127.0.0.1 for tests of what an installer is told: it answers RTSP or HTTP
requests per path (404 elsewhere), optionally behind a log-in (Digest or Basic), as IP cameras do.
The edge of a unit test: the real GStreamer RTSP server stands in for a working camera elsewhere."""

from __future__ import annotations

import hashlib
import re
import socketserver
import threading
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field

USER, PASSWORD = "admin", "s3cr3t-Pa55"
SDP_H264 = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
SDP_AUDIO = "v=0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1\r\n"


@dataclass(frozen=True)
class Reply:
    status: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class Camera:
    """What a small camera answers: a reply per path (404 elsewhere), optionally behind a log-in."""

    protocol: str  # "RTSP" or "HTTP"
    routes: dict[str, Reply]
    login: str | None = None  # "Digest", "Basic", or another method no password satisfies
    hang_up_on_401: bool = False


class _Handler(socketserver.StreamRequestHandler):
    camera: Camera

    def handle(self) -> None:
        while True:
            first = self.rfile.readline()
            if not first:
                return
            if not re.fullmatch(rb"[A-Z]+ \S+ (RTSP|HTTP)/1\.\d\r\n", first):  # a TLS hello, say
                self.wfile.write(f"{self.camera.protocol}/1.0 400 Bad Request\r\n\r\n".encode())
                return
            request = [first.decode("latin-1").rstrip("\r\n")]
            request += [line.decode("latin-1").rstrip("\r\n") for line in iter(self.rfile.readline, b"\r\n")]
            method, target, _ = request[0].split(" ")
            headers = dict(line.split(": ", 1) for line in request[1:] if ": " in line)
            reply = self._answer(method, target, headers.get("Authorization", ""))
            lines = [f"{self.camera.protocol}/1.0 {reply.status}"]
            if "CSeq" in headers:
                lines.append(f"CSeq: {headers['CSeq']}")
            lines += [f"{k}: {v}" for k, v in reply.headers.items()]
            lines.append(f"Content-Length: {len(reply.body)}")
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n" + reply.body).encode("latin-1"))
            if self.camera.protocol == "HTTP" or "Connection" in reply.headers:
                return

    def _answer(self, method: str, target: str, authorization: str) -> Reply:
        if method == "OPTIONS":
            return Reply("200 OK", {"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"})
        if self.camera.login and not _authorized(self.camera.login, method, target, authorization):
            challenge = f'{self.camera.login} realm="cam"'
            if self.camera.login == "Digest":
                challenge += ', nonce="a1b2c3"'
            hang_up = {"Connection": "close"} if self.camera.hang_up_on_401 else {}
            return Reply("401 Unauthorized", {"WWW-Authenticate": challenge, **hang_up})
        path = re.sub(r"^rtsps?://[^/]+", "", target).split("?")[0]
        return self.camera.routes.get(path, Reply("404 Not Found"))


def _authorized(login: str, method: str, uri: str, authorization: str) -> bool:
    if login not in ("Basic", "Digest"):
        return False
    if login == "Basic":
        return authorization == "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', authorization.removeprefix("Digest ")))

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    expected = md5(f"{md5(f'{USER}:cam:{PASSWORD}')}:a1b2c3:{md5(f'{method}:{uri}')}")
    return fields.get("username") == USER and fields.get("uri") == uri and fields.get("response") == expected


# A camera with an H.264 stream at /cam, and the same behind a Digest log-in.
RTSP_CAMERA = Camera("RTSP", {"/cam": Reply("200 OK", {"Content-Type": "application/sdp"}, SDP_H264)})
RTSP_DIGEST = Camera("RTSP", RTSP_CAMERA.routes, login="Digest")


def start_camera(camera: Camera, servers: list[socketserver.ThreadingTCPServer]) -> int:
    """Serves `camera` on 127.0.0.1 in a thread (kept in `servers` to shut down); its port."""
    handler = type("Handler", (_Handler,), {"camera": camera})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    servers.append(server)
    return int(server.server_address[1])


Serve = Callable[[Camera], int]

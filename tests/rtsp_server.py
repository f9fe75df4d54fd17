"""A real RTSP server for tests and benchmarks: GStreamer's RTSP server (Debian packages), serving
a video file, looped, as H.264 at rtsp://127.0.0.1:PORT/MOUNT for each MOUNT given.

Runs with Debian's /usr/bin/python3, which has the `gi` bindings:
    /usr/bin/python3 tests/rtsp_server.py VIDEO PORT [MOUNT ...]
Prints "ready" on stdout once it listens. With RTSP_CREDENTIALS=user:password in its environment
every mount asks for them (basic authentication; a wrong pair gets 401), as a real camera does.
With RTSP_AS_IS=1 the file must be an .mp4 of H.264, sent without encoding it again. To make one
as a camera's encoder would (a key frame every 2 s):
    /usr/bin/python3 tests/rtsp_server.py --encode VIDEO OUT.mp4 WIDTHxHEIGHT FPS [KBIT_S]
"""

import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINE = (
    '( filesrc location="{video}" ! decodebin ! videoconvert name=conv ! '
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 bitrate=1000 ! "
    "rtph264pay name=pay0 pt=96 config-interval=1 )"
)
# With RTSP_AS_IS=1 an .mp4 file of H.264 is sent as it is, as a camera sends what its own encoder
# made: the server then costs the machine next to nothing, whatever the stream's size and rate.
# (`conv` names the element whose end of file loop_forever watches, in both pipelines.)
PASSTHROUGH = (
    '( filesrc location="{video}" ! qtdemux ! h264parse name=conv config-interval=-1 ! '
    "rtph264pay name=pay0 pt=96 config-interval=1 )"
)


def encode(video, out, size, fps, kbits=None):
    """VIDEO as an H.264 .mp4 of that size and rate, no B-frames, at `kbits` kbit/s or else about
    0.06 bits a pixel (4.7 Mbit/s for 3 MP at 25 frames/s, what such cameras send)."""
    width, height = (int(side) for side in size.split("x"))
    fps = int(fps)
    kbits = int(kbits) if kbits else max(256, round(width * height * fps * 0.06 / 1000))
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f'filesrc location="{video}" ! decodebin ! videoconvert ! videoscale ! '
        f"video/x-raw,width={width},height={height} ! videorate ! video/x-raw,framerate={fps}/1 ! "
        f"x264enc speed-preset=veryfast bframes=0 key-int-max={2 * fps} bitrate={kbits} ! h264parse ! "
        f'mp4mux ! filesink location="{out}"'
    )
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    pipeline.set_state(Gst.State.NULL)
    if message.type == Gst.MessageType.ERROR:
        sys.exit(f"cannot encode {video}: {message.parse_error()[0].message}")


def loop_forever(factory, media):
    """At the end of the file, seek back to its start instead of ending the stream."""
    element = media.get_element()
    pipeline = element.get_parent() or element

    def restart():
        pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        return False

    def on_event(pad, info):
        if info.get_event().type == Gst.EventType.EOS:
            GLib.idle_add(restart)
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    element.get_by_name("conv").get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)


def require_credentials(server, credentials):
    """Basic authentication for every mount: the pair given, or 401."""
    user, password = credentials.split(":", 1)
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    return permissions


def main():
    video, port, mounts = sys.argv[1], sys.argv[2], sys.argv[3:] or ["cam"]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    credentials = os.environ.get("RTSP_CREDENTIALS")
    as_is = os.environ.get("RTSP_AS_IS") == "1"
    permissions = require_credentials(server, credentials) if credentials else None
    for mount in mounts:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch((PASSTHROUGH if as_is else PIPELINE).format(video=video))
        factory.set_shared(True)
        factory.connect("media-configure", loop_forever)
        if permissions is not None:
            factory.set_permissions(permissions)
        server.get_mount_points().add_factory(f"/{mount}", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--encode"]:
        encode(*sys.argv[2:7])
    else:
        main()

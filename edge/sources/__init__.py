"""Where frames come from. Live streams (RTSP, HTTP, USB) plug in beside the file source."""

from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.file import FileSource
from edge.sources.sampling import FrameSampler

__all__ = ["FileSource", "Frame", "FrameSampler", "FrameSource", "SourceError", "open_source"]


def open_source(config: object) -> FrameSource:
    """The source a camera's `source` config names (nothing is opened before `frames()`)."""
    from edge.config import FileSourceConfig, HttpSourceConfig, RtspSourceConfig, UsbSourceConfig
    from edge.sources.stream import StreamSource

    if isinstance(config, FileSourceConfig):
        return FileSource(config.path, loop=config.loop, realtime=config.realtime)
    if isinstance(config, RtspSourceConfig | HttpSourceConfig | UsbSourceConfig):
        return StreamSource(config)
    raise TypeError(f"no source for {type(config).__name__}")

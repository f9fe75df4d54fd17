"""Where frames come from. Live streams (RTSP, HTTP, USB) plug in beside the file source."""

from edge.config import FileSourceConfig, SourceConfig
from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.file import FileSource
from edge.sources.sampling import FrameSampler
from edge.sources.stream import StreamSource

__all__ = ["FileSource", "Frame", "FrameSampler", "FrameSource", "SourceError", "open_source"]


def open_source(config: SourceConfig) -> FrameSource:
    """The source a camera's `source` config names (nothing is opened before `frames()`)."""
    if isinstance(config, FileSourceConfig):
        return FileSource(config.path, loop=config.loop, realtime=config.realtime)
    return StreamSource(config)

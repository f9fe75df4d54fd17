"""How the edge process keeps glibc's malloc from holding memory it no longer uses.

Measured on 8 cameras (docs/accuracy.md, "Memory"): glibc gives each thread that allocates its
own arena, up to 8 per core, and the edge runs a reader thread per camera beside OpenVINO's. Each
arena keeps the frames freed in it for reuse by that thread alone. And once a large block (a
compiled model's buffer) is freed, glibc raises its threshold for serving blocks by mmap up to
32 MiB, so from then on every decoded frame comes from an arena and stays there after it is
freed. A fixed threshold below a frame's size hands frames back to the system when they are freed.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

# mallopt's parameter numbers (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2  # the readers allocate little besides frames; two arenas keep them from queueing
# Blocks from this size up are mapped and unmapped on their own: a 640x480 BGR frame is 900 KiB.
MMAP_FROM_BYTES = 512 * 1024
# The environment variables glibc itself reads at start: an operator's value wins over ours.
SETTINGS = {
    "MALLOC_ARENA_MAX": (M_ARENA_MAX, ARENAS),
    "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, MMAP_FROM_BYTES),
}


def limit_malloc() -> list[str]:
    """Apply the settings above to this process (glibc only; elsewhere nothing), returning those
    applied. Call it before the threads start: glibc fixes the arena limit when a thread first
    needs a new arena."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return []
    applied = []
    for variable, (parameter, value) in SETTINGS.items():
        if variable in os.environ:
            continue
        if mallopt(ctypes.c_int(parameter), ctypes.c_int(value)) == 1:
            applied.append(f"{variable}={value}")
    if applied:
        log.debug("malloc: %s", ", ".join(applied))
    return applied

"""The edge's malloc settings: freed frames go back to the system, an operator's values win."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edge.memory import limit_malloc

# Freed 1 MiB "frames" (with small blocks that outlive them between) in a thread, after a large block
# was freed: prints the MiB of RSS the frames' release gave back.
FRAMES_FREED = """
import sys, threading
from edge.memory import limit_malloc

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "limit":
    limit_malloc()
big = bytearray(16 << 20)
del big
given_back = []

def read_frames():
    kept, frames = [], []
    for _ in range(64):
        frames.append(bytearray(1 << 20))
        kept.append(bytearray(4096))
    before = rss()
    frames.clear()
    given_back.append(before - rss())

thread = threading.Thread(target=read_frames)
thread.start()
thread.join()
print(given_back[0])
"""


def given_back_mib(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FRAMES_FREED, mode],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")},
    )
    return float(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc: Linux only")
def test_freed_frames_go_back_to_the_system_only_with_the_limits() -> None:
    assert given_back_mib("limit") > 60  # of 64 MiB
    assert given_back_mib("none") < 8  # kept in the thread's arena: what the limits are for


@pytest.mark.parametrize(
    ("environment", "applied"),
    [
        ({}, ["MALLOC_ARENA_MAX=2", "MALLOC_MMAP_THRESHOLD_=524288"]),
        ({"MALLOC_ARENA_MAX": "4"}, ["MALLOC_MMAP_THRESHOLD_=524288"]),
        ({"MALLOC_ARENA_MAX": "4", "MALLOC_MMAP_THRESHOLD_": "65536"}, []),
    ],
)
def test_an_operators_environment_wins(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], applied: list[str]
) -> None:
    for variable in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert limit_malloc() == applied


# Packages the edge once loaded and does without now: SciPy and supervision came with a tracking
# package (about 60 MiB before any camera); plotting loads only where a replay draws its chart.
HEAVY = {"scipy", "supervision", "trackers", "matplotlib", "PIL", "pandas", "torch"}


def test_the_edge_loads_no_optimisation_plotting_or_tracking_package() -> None:
    script = (
        "import sys, edge.cli, edge.service; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert not set(loaded.stdout.split()) & HEAVY

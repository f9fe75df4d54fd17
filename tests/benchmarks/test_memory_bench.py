"""The memory benchmark compares another checkout's edge with this one's: its child process must not
have this checkout's edge loaded before it puts the other tree first."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.memory import REPO


def test_the_benchmark_loads_no_edge_module_of_its_own_before_the_measured_tree() -> None:
    script = (
        "import sys, benchmarks.memory; print(' '.join(m for m in sys.modules if m.split('.')[0] == 'edge'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )

    assert loaded.stdout.split() == []

"""What the operations tests share: the command-line tools they run (promtool, amtool, prometheus,
hadolint, podman), found the one way, skipped without them and failing under CI."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def need_tool(name: str, why: str) -> str:
    """The path of the tool `name`, on PATH or beside this interpreter (the .venv's hadolint).

    Missing: skipped on a developer's machine, failed when the CI variable is set, as `need()` in
    tests/conftest.py does for files, so that a test CI runs can never pass by skipping.
    """
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    found = shutil.which(name, path=search)
    if found is not None:
        return found
    message = f"{name} is missing: {why}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)")
    pytest.skip(message)

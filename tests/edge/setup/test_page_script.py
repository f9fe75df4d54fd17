"""The setup page's scripts (edge/setup/static/*.js) are checked like code: each must parse, said with
its line (Node's --check; Debian's nodejs, no npm package). The browser tests run it."""

from __future__ import annotations

import subprocess
from importlib.resources import as_file, files

import pytest

from tests.conftest import need_tool


@pytest.mark.parametrize("name", ["setup.js", "setup-floor.js"])
def test_the_setup_pages_scripts_parse(name: str) -> None:
    node = need_tool("node", "scripts/setup.sh --dev installs Debian's nodejs package")
    with as_file(files("edge.setup") / "static" / name) as script:
        done = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

"""The setup page's script (edge/setup/static/setup.js) is checked like code: it must parse, said with
its line (Node's --check; Debian's nodejs, no npm package). The browser tests run it."""

from __future__ import annotations

import subprocess
from importlib.resources import as_file, files

from tests.conftest import need_tool


def test_the_setup_pages_script_parses() -> None:
    node = need_tool("node", "scripts/setup.sh --dev installs Debian's nodejs package")
    with as_file(files("edge.setup") / "static" / "setup.js") as script:
        done = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

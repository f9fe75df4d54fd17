"""Container HEALTHCHECK of the edge box: its /healthz answers on the port its config names.

Exits 0 when healthy, 1 otherwise (what HEALTHCHECK expects). Alive, not ready: a camera that is
down is an operations alert (WartezoneCameraDown), and restarting the container would not bring
it back. The config path comes from WARTEZONE_CONFIG, as for the service itself.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from edge.config import ConfigError, load_config


def main() -> int:
    path = Path(os.environ.get("WARTEZONE_CONFIG", "/etc/wartezone/wartezone.yaml"))
    try:
        port = load_config(path).metrics.port
    except ConfigError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError) as error:  # HTTPError (404, 500) is a URLError
        print(f"healthcheck: /healthz on port {port}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

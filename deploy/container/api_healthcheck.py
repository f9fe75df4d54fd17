"""Container HEALTHCHECK of the staffing-alert API: its /metrics answers on the port its settings name.

Exits 0 when healthy, 1 otherwise (what HEALTHCHECK expects). Alive, not ready: /metrics needs no
token and answers while the input (the edge) is down, which the API reports on its own page and in
wartezone_alert_state{state="unknown"}; restarting the container would not bring the edge back.
The settings come from the file WARTEZONE_API_CONFIG names and the WARTEZONE_API__* variables, as
for the service itself.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from api.settings import SettingsError, load_settings


def main() -> int:
    path = Path(os.environ.get("WARTEZONE_API_CONFIG", "/etc/wartezone/api.yaml"))
    try:
        port = load_settings(path).port
    except SettingsError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError) as error:  # HTTPError (404, 500) is a URLError
        print(f"healthcheck: /metrics on port {port}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

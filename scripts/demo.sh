#!/usr/bin/env bash
# Set up (if needed), then the whole chain on the sample video: the edge counting (metrics on
# 127.0.0.1:9464), the staffing-alert API scraping it with a demo rule (127.0.0.1:8088/reception),
# occupancy and alert state per zone in the terminal. Ctrl-C, `kill` or closing the terminal stops
# both; exec hands those signals to the demo itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/demo.py

#!/usr/bin/env bash
# Set up (if needed), then run the edge on the sample video: /metrics on 127.0.0.1:9464 and live
# per-zone occupancy in the terminal. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/wartezone edge run -c examples/demo.yaml

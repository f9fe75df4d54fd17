#!/usr/bin/env bash
# Set up (if needed), then run every check: lint, types, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# pytest exits 5 when it collected no test; set -e turns that, like any failure, into a failed run.
exec .venv/bin/pytest -ra "$@"

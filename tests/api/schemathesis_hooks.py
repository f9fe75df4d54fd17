"""schemathesis hooks of tests/api/test_api_schema.py, loaded by its command line (SCHEMATHESIS_HOOKS).

Rules JSON Schema cannot say, so a request the schema allows may still be refused with 422; valid
(positive) requests are generated keeping them, so every other valid request must still be
accepted. The 422s for requests that break them are tested in test_api_http.py and
test_api_report.py.
- A rule's clear_level must be below its raise_level.
- A report runs from `from` to a later `to`, a whole number of steps, within the years 1970-2199.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis
from schemathesis import Case, GenerationMode, HookContext

RULE_PATH = "/api/v1/rules/{site}/{camera}/{zone}"
REPORT_PATH = "/api/v1/report"
STEP_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
FIRST, LAST = datetime(1970, 1, 2, tzinfo=UTC), datetime(2199, 1, 1, tzinfo=UTC)


def _level(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    body = case.body
    if positive and case.operation.path == RULE_PATH and isinstance(body, dict):
        raise_level, clear_level = body.get("raise_level"), body.get("clear_level")
        if _level(raise_level) and _level(clear_level) and clear_level >= raise_level:
            case.body = {**body, "clear_level": int(raise_level) - 1}
    if positive and case.operation.path == REPORT_PATH and isinstance(case.query, dict):
        case.query = {**case.query, **_report_range(case.query)}
    return case


def _report_range(query: dict[str, object]) -> dict[str, str]:
    """The generated start where it is a time within the years, two of the generated steps long
    (a step of a day where two of those would pass 2199)."""
    step = str(query.get("step", "1h"))
    try:
        length = int(step[:-1]) * STEP_UNITS[step[-1]]
        start = datetime.fromisoformat(str(query.get("from")))
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    except (ValueError, KeyError, OverflowError):
        start, length = datetime(2025, 11, 24, 8, tzinfo=UTC), timedelta(hours=1)
    if not FIRST <= start <= LAST:
        start = datetime(2025, 11, 24, 8, tzinfo=UTC)
    if length > (LAST - start) / 2:
        step, length = "1d", timedelta(days=1)
    return {"from": start.isoformat(), "to": (start + 2 * length).isoformat(), "step": step}

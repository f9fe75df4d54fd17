"""schemathesis hooks of tests/api/test_api_schema.py, loaded by its command line (SCHEMATHESIS_HOOKS).

A rule's clear_level must be below its raise_level: one field compared with another, which JSON
Schema cannot say, so a body the schema allows may still be refused with 422. Valid (positive)
rule bodies are generated keeping that rule, so every other valid body must still be accepted;
the 422 for bodies that break it is tested in test_api_http.py.
"""

from __future__ import annotations

import schemathesis
from schemathesis import Case, GenerationMode, HookContext

RULE_PATH = "/api/v1/rules/{site}/{camera}/{zone}"


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
    return case

"""Alert rules: read with the desk role, change with the lead role. Stored; they survive restarts.

A client PUTs a RuleSpec (levels, durations, opening hours); every answer is a RuleOut: the stored
rule with its zone and when it was set.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from api.deps import DeskRole, LeadRole, RuntimeDep, ZoneKeyDep
from api.directory import UnknownZone
from api.errors import responses
from api.rules import RuleSpec, TooManyRules
from api.schemas import RuleOut

router = APIRouter(prefix="/api/v1/rules", tags=["rules"], responses=responses(401, 422, 429))
RULE_PATH = "/{site}/{camera}/{zone}"


@router.get("", response_model=list[RuleOut], summary="Every rule")
async def list_rules(runtime: RuntimeDep, role: DeskRole) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in runtime.rules()]


@router.get(RULE_PATH, response_model=RuleOut, summary="One zone's rule", responses=responses(404))
async def get_rule(key: ZoneKeyDep, runtime: RuntimeDep, role: DeskRole) -> RuleOut:
    rule = runtime.rule(key)
    if rule is None:
        raise HTTPException(404, f"zone {key} has no rule")
    return RuleOut.of(rule)


@router.put(
    RULE_PATH,
    response_model=RuleOut,
    summary="Create or replace a zone's rule (404 for a zone no edge box reports, with the nearest one)",
    description="A new rule beyond the settings' `limits.rules` (500 by default) is refused with 409.",
    responses=responses(400, 403, 404, 409, 413),
)
async def put_rule(key: ZoneKeyDep, spec: RuleSpec, runtime: RuntimeDep, role: LeadRole) -> RuleOut:
    try:
        return RuleOut.of(runtime.set_rule(key, spec))
    except UnknownZone as error:
        raise HTTPException(404, str(error)) from None
    except TooManyRules as error:
        raise HTTPException(409, str(error)) from None


@router.delete(
    RULE_PATH,
    status_code=204,
    response_class=Response,
    summary="Remove a zone's rule (its open alert ends)",
    responses=responses(403, 404),
)
async def delete_rule(key: ZoneKeyDep, runtime: RuntimeDep, role: LeadRole) -> Response:
    if not runtime.remove_rule(key):
        raise HTTPException(404, f"zone {key} has no rule")
    return Response(status_code=204)

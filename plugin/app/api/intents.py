"""Intent assignments over the API: what each intent of the workspace's packs sets, and overrides (SPEC §4)."""

from __future__ import annotations

from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.domain.errors import StatushubError
from plugin.workspace.intent_model import correct_intent
from plugin.workspace.intents import (
    assign_intent,
    matcher_for,
    reset_intent,
    workspace_overrides,
    workspace_packs,
)

TAGS = ("intents",)


def _intents(call: Call) -> dict:
    packs = workspace_packs(call.conn, call.owner.workspace_id)
    overrides = workspace_overrides(call.conn, call.owner.workspace_id)
    items = []
    if packs:
        matcher = matcher_for(packs)
        for intent in matcher.intents:
            assigns = matcher.assignment(intent.name, template=call.catalog.template, overrides=overrides)
            items.append(
                {
                    "name": intent.name,
                    "assigns": dict(assigns),
                    "overrides": dict(overrides.get(intent.name, {})),
                }
            )
    return {"packs": list(packs), "items": items}


def _one(call: Call, name: str) -> dict:
    found = next((i for i in _intents(call)["items"] if i["name"] == name), None)
    if found is None:
        raise StatushubError(f"no intent {name!r} in this workspace's packs", field="intent")
    return found


@route(
    "/intents",
    "GET",
    summary="The workspace's intents and what each assigns",
    response=s.IntentList,
    tags=TAGS,
)
def list_intents(call: Call):
    return _intents(call)


@route(
    "/intents/<name>/assignment",
    "PUT",
    summary="Override what an intent assigns (status null: assign nothing on track)",
    role="admin",
    body=s.IntentAssign,
    response=s.Intent,
    write=True,
    tags=TAGS,
)
def assign(call: Call, name: str):
    assign_intent(call.conn, call.catalog, name, call.body["status"], track=call.body["track"])
    return _one(call, name)


@route(
    "/intents/<name>/assignment",
    "DELETE",
    summary="Drop the overrides: the pack's assignment applies again",
    role="admin",
    response=s.Intent,
    write=True,
    tags=TAGS,
)
def unassign(call: Call, name: str):
    _one(call, name)
    reset_intent(call.conn, call.catalog, name)
    return _one(call, name)


@route(
    "/messages/<int:message_id>/intent",
    "POST",
    summary="Correct an inbound message's intent: a labelled example for the next training",
    status=201,
    body=s.IntentCorrect,
    response=s.IntentCorrection,
    write=True,
    tags=TAGS,
)
def correct(call: Call, message_id: int):
    # Agents may correct; the correction changes no status and counts from the next training (SPEC §4).
    found = correct_intent(call.command, message_id, call.body["intent"])
    return found.as_dict()

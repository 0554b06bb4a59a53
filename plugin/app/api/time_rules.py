"""Time rules over the API (SPEC §9): agents read them, admins add and remove them, as the CLI does."""

from __future__ import annotations

from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.automation.time_rules import add_rule, list_rules, remove_rule
from plugin.domain.clock import utcnow

TAGS = ("time rules",)


@route(
    "/time-rules",
    "GET",
    summary="The workspace's time rules: condition, duration and target",
    response=s.TimeRuleList,
    # The first read seeds the template's default rules (as the CLI and the worker do): a write.
    write=True,
    tags=TAGS,
)
def list_time_rules(call: Call):
    return {"items": [r.as_dict() for r in list_rules(call.conn, call.owner.workspace_id, utcnow())]}


@route(
    "/time-rules",
    "POST",
    summary="Add a time rule: customers in `when` for `after` move to `to`",
    role="admin",
    status=201,
    body=s.TimeRuleCreate,
    response=s.TimeRule,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def add_time_rule(call: Call):
    body = call.body
    when = [f"{track}:{status}" for track, status in body["when"].items()]
    rule = add_rule(call.conn, call.catalog, body["name"], when, body["after"], body["to"], utcnow())
    return rule.as_dict()


@route(
    "/time-rules/<name>",
    "DELETE",
    summary="Remove a time rule; decisions it already made stay in the audit log",
    role="admin",
    response=s.Ok,
    write=True,
    tags=TAGS,
)
def remove_time_rule(call: Call, name: str):
    remove_rule(call.conn, call.owner.workspace_id, name, utcnow())
    return {"ok": True}

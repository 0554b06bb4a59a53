"""Logging an activity: a call, SMS, email, visit or chat and its outcome (SPEC §2, §3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from plugin.domain.catalog import Catalog, StatusInfo
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.fold import Classifier, Entry
from plugin.engine import run_commands
from plugin.store.schema import Activity, OutcomeMapping

INTERACTIONS = ("call", "sms", "email", "in_store", "chat")
INTERACTION_ALIASES = {
    "in-store": "in_store",
    "instore": "in_store",
    "store": "in_store",
    "visit": "in_store",
    "text": "sms",
    "phone": "call",
    "mail": "email",
    "e-mail": "email",
}
OUTCOME_ALIASES = {
    "in-progress": "sale_in_progress",
    "in_progress": "sale_in_progress",
    "progress": "sale_in_progress",
    "no-sale": "no_sale",
    "nosale": "no_sale",
    "no-answer": "no_answer",
    "noanswer": "no_answer",
    "voicemail": "left_voicemail",
    "vm": "left_voicemail",
    "wrong-number": "wrong_number",
    "wrong": "wrong_number",
}


def resolve_interaction(name: str) -> str:
    key = name.strip().lower()
    key = INTERACTION_ALIASES.get(key, key)
    if key not in INTERACTIONS:
        raise StatushubError(
            f"{name!r} is not a way of reaching a customer",
            choices=["call", "sms", "email", "in-store", "chat"],
            field="via",
        )
    return key


def resolve_outcome(catalog: Catalog, name: str) -> StatusInfo:
    """An outcome named by key, label, emoji or alias (`vm`, `no-sale`, `in-progress`...)."""
    alias = OUTCOME_ALIASES.get(name.strip().lower())
    return catalog.resolve(alias or name, track="outcome")


def outcome_effects(conn: Connection, catalog: Catalog, outcome: str) -> list[tuple[str, str]]:
    """(track, status) pairs the outcome sets besides `outcome` itself, skipping archived or deleted targets."""
    rows = conn.execute(
        select(OutcomeMapping.track, OutcomeMapping.status).where(
            OutcomeMapping.workspace_id == catalog.workspace_id, OutcomeMapping.outcome == outcome
        )
    ).all()
    effects = []
    for track, status in rows:
        target = catalog.status(track, status)
        if target is not None and not target.archived:
            effects.append((track, status))
    return effects


def log_activity(
    conn: Connection,
    catalog: Catalog,
    customer_id: int,
    outcome: StatusInfo,
    *,
    interaction: str,
    actor: str,
    note: str = "",
    explain: str = "",
    classify: Classifier,
    now: datetime | None = None,
) -> tuple[int, list[Entry]]:
    """Records the activity, sets `outcome`, and applies the workspace's outcome mapping as manual changes."""
    now = now or utcnow()
    if outcome.track != "outcome":
        raise StatushubError(
            f"{outcome.badge} is not an outcome",
            choices=catalog.choices([catalog.track("outcome")]),
            field="outcome",
        )
    if outcome.archived:
        raise StatushubError(f"{outcome.badge} is archived; restore it first", field="outcome")
    interaction = resolve_interaction(interaction)
    activity_id = conn.execute(
        insert(Activity).returning(Activity.id),
        {
            "workspace_id": catalog.workspace_id,
            "customer_id": customer_id,
            "interaction": interaction,
            "outcome": outcome.key,
            "explain": explain,
            "note": note,
            "actor": actor,
            "at": now,
        },
    ).scalar_one()
    commands = [("outcome", outcome.key, "activity", "activity")]
    commands += [
        (track, status, "activity", "activity")
        for track, status in outcome_effects(conn, catalog, outcome.key)
    ]
    entries = run_commands(
        conn, catalog, customer_id, commands, actor=actor, note=note, classify=classify, now=now
    )
    return activity_id, entries

"""One customer: badges, identities, linked warnings, the conversation, history and why; set and log."""

from __future__ import annotations

from collections.abc import Sequence

from flask import redirect, render_template, request, url_for
from sqlalchemy import Connection, select

from plugin.app.console import bp
from plugin.app.console.auth import command, engine, read_engine, safe_back, visitor
from plugin.customers.activities import INTERACTIONS, log_activity, resolve_interaction, resolve_outcome
from plugin.customers.queries import customer_row
from plugin.customers.read_model import current_statuses, linked_warnings
from plugin.domain.clock import utcnow
from plugin.domain.events import media_of
from plugin.domain.sources import describe_source
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, CustomerStatus, Identity, Message, StatusChange, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intent_model import correct_intent, intent_choices

C, CS = table_of(Customer), table_of(CustomerStatus)
MESSAGES = 200  # the newest ones, shown oldest first
HISTORY = 200


def conversation(conn: Connection, workspace_id: int, customer_id: int) -> list:
    newest = conn.execute(
        select(
            Message.channel,
            Message.direction,
            Message.sender,
            Message.text,
            Message.provider_at,
            Message.delivery_status,
            Message.id,
            Message.intents,
            Message.media,
        )
        .where(Message.workspace_id == workspace_id, Message.customer_id == customer_id)
        .order_by(Message.provider_at.desc(), Message.id.desc())
        .limit(MESSAGES)
    ).all()
    # Media as `[{"url", "content_type"}]`; a link only where it is one (http or https).
    return [
        dict(r._mapping)
        | {
            "media": [
                m | {"link": (m["url"] or "").startswith(("https://", "http://"))} for m in media_of(r.media)
            ]
        }
        for r in reversed(newest)
    ]


def history(conn: Connection, workspace_id: int, customer_id: int) -> Sequence:
    return conn.execute(
        select(StatusChange)
        .where(StatusChange.workspace_id == workspace_id, StatusChange.customer_id == customer_id)
        .order_by(StatusChange.id.desc())
        .limit(HISTORY)
    ).all()


def why(entries: Sequence, statuses: dict) -> dict:
    """For each current status, the newest applied entry that put the customer there."""
    found = {}
    for e in entries:  # newest first
        current = statuses.get(e.track)
        if e.track not in found and e.applied and current is not None and e.to_status == current.key:
            found[e.track] = e
    return found


@bp.get("/customers/")
def customers_root():
    """Customers are found on the board; this URL is the prefix every customer page hangs from."""
    return redirect(url_for("console.board"))


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int):
    me = visitor()
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        row = customer_row(conn, me.workspace_id, customer_id)
        statuses = current_statuses(conn, catalog, customer_id)
        identities = (
            conn.execute(
                select(Identity.value)
                .where(Identity.workspace_id == me.workspace_id, Identity.customer_id == customer_id)
                .order_by(Identity.value)
            )
            .scalars()
            .all()
        )
        warnings = linked_warnings(conn, catalog, customer_id)
        messages = conversation(conn, me.workspace_id, customer_id)
        entries = history(conn, me.workspace_id, customer_id)
        intent_names = intent_choices(conn, me.workspace_id)
    settable = [s for t in catalog.tracks.values() if t.manual for s in t.active]
    return render_template(
        "customer.html",
        customer=row,
        catalog=catalog,
        statuses=statuses,
        identities=identities,
        warnings=warnings,
        messages=messages,
        entries=entries,
        why=why(entries, statuses),
        settable=settable,
        outcomes=catalog.tracks["outcome"].active if "outcome" in catalog.tracks else (),
        interactions=[i for i in INTERACTIONS if i != "chat"] + ["chat"],
        intent_names=intent_names,
        describe_source=describe_source,
    )


@bp.post("/customers/<int:customer_id>/messages/<int:message_id>/intent")
def correct_message_intent(customer_id: int, message_id: int):
    """The "wrong intent?" control: stores the agent's correction; no status changes (SPEC §4)."""
    me = visitor()
    with transaction(engine()) as conn:
        customer_row(conn, me.workspace_id, customer_id)
        correct_intent(command(conn), message_id, request.form.get("intent", ""))
    return redirect(url_for("console.customer", customer_id=customer_id) + f"#message-{message_id}")


@bp.post("/customers/<int:customer_id>/status")
def set_status(customer_id: int):
    me = visitor()
    with transaction(engine()) as conn:
        cmd = command(conn)
        catalog = cmd.catalog
        customer_row(conn, me.workspace_id, customer_id)
        target = catalog.resolve(request.form.get("status", ""))
        assign_status(
            conn,
            catalog,
            customer_id,
            target,
            actor=me.actor,
            note=request.form.get("note", "").strip(),
            classify=cmd.classify,
            now=utcnow(),
        )
    return redirect(safe_back(request.form.get("back"), url_for("console.customer", customer_id=customer_id)))


@bp.post("/customers/<int:customer_id>/activity")
def log_outcome(customer_id: int):
    me = visitor()
    with transaction(engine()) as conn:
        cmd = command(conn)
        catalog = cmd.catalog
        customer_row(conn, me.workspace_id, customer_id)
        outcome = resolve_outcome(catalog, request.form.get("outcome", ""))
        log_activity(
            conn,
            catalog,
            customer_id,
            outcome,
            interaction=resolve_interaction(request.form.get("interaction", "call")),
            actor=me.actor,
            note=request.form.get("note", "").strip(),
            classify=cmd.classify,
        )
    return redirect(url_for("console.customer", customer_id=customer_id))

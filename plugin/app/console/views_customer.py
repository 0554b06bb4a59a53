"""One customer: badges, identities, linked warnings, the conversation, history and why; set and log."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import Connection, or_, select

from plugin.app.console import bp
from plugin.app.console.auth import command, engine, safe_back, visitor
from plugin.customers.activities import INTERACTIONS, log_activity, resolve_interaction, resolve_outcome
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.errors import UnknownCustomer
from plugin.domain.sources import describe_source
from plugin.engine import assign_status
from plugin.store.db import reading, transaction
from plugin.store.schema import Customer, CustomerLink, CustomerStatus, Identity, Message, StatusChange
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intent_model import correct_intent, intent_choices

C, CS = Customer.__table__, CustomerStatus.__table__
MESSAGES = 200  # the newest ones, shown oldest first
HISTORY = 200


def customer_row(conn: Connection, workspace_id: int, customer_id: int):
    row = conn.execute(select(C).where(C.c.workspace_id == workspace_id, C.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomer(f"no customer #{customer_id} in this workspace", field="customer")
    return row


def current_statuses(conn: Connection, catalog: Catalog, customer_id: int) -> dict:
    """{track key: StatusInfo} in track order."""
    rows = conn.execute(
        select(CS.c.status_id).where(
            CS.c.workspace_id == catalog.workspace_id, CS.c.customer_id == customer_id
        )
    ).scalars()
    held = {catalog.by_id[s].track: catalog.by_id[s] for s in rows if s in catalog.by_id}
    return {t: held[t] for t in catalog.tracks if t in held}


def linked_warnings(conn: Connection, catalog: Catalog, customer_id: int) -> list[tuple]:
    """Linked customers on an alerting attention status (caution, do not serve) (SPEC §3)."""
    attention = catalog.tracks.get("attention")
    if attention is None:
        return []
    alerting = [s.id for s in attention.statuses if s.alert]
    links = conn.execute(
        select(CustomerLink.customer_id, CustomerLink.other_id).where(
            CustomerLink.workspace_id == catalog.workspace_id,
            or_(CustomerLink.customer_id == customer_id, CustomerLink.other_id == customer_id),
        )
    ).all()
    others = {b if a == customer_id else a for a, b in links}
    if not others or not alerting:
        return []
    rows = conn.execute(
        select(C.c.id, C.c.name, CS.c.status_id)
        .join(CS, (CS.c.workspace_id == C.c.workspace_id) & (CS.c.customer_id == C.c.id))
        .where(C.c.workspace_id == catalog.workspace_id, C.c.id.in_(others), CS.c.status_id.in_(alerting))
    ).all()
    return [(r.id, r.name, catalog.by_id[r.status_id]) for r in rows]


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
        )
        .where(Message.workspace_id == workspace_id, Message.customer_id == customer_id)
        .order_by(Message.provider_at.desc(), Message.id.desc())
        .limit(MESSAGES)
    ).all()
    return list(reversed(newest))


def history(conn: Connection, workspace_id: int, customer_id: int) -> list:
    return conn.execute(
        select(StatusChange)
        .where(StatusChange.workspace_id == workspace_id, StatusChange.customer_id == customer_id)
        .order_by(StatusChange.id.desc())
        .limit(HISTORY)
    ).all()


def why(entries: list, statuses: dict) -> dict:
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
    with reading(engine()) as conn:
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

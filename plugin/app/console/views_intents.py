"""Intents (admins): what each intent assigns, change or clear it, and try a message read-only."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from plugin.app.console import bp
from plugin.app.console.auth import admin_only, engine, read_engine, visitor
from plugin.customers.naming import resolve_customer
from plugin.domain.catalog import Catalog
from plugin.domain.errors import StatushubError
from plugin.domain.policy import decide
from plugin.store.db import reading, transaction
from plugin.store.schema import Workspace, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import (
    assign_intent,
    classifier_for,
    matcher_for,
    reset_intent,
    workspace_overrides,
    workspace_packs,
)


def try_message(conn, catalog: Catalog, region: str, text: str, ref: str) -> dict:
    """What the engine would decide for this message and customer; reads only."""
    current: dict = {t: tr.first for t, tr in catalog.tracks.items()}
    customer_id = None
    if ref.strip():
        from plugin.customers.read_model import current_statuses

        customer_id = resolve_customer(conn, catalog.workspace_id, ref, region)
        current.update(current_statuses(conn, catalog, customer_id))
    found = classifier_for(conn, catalog)(text, "webchat", {t: s.key for t, s in current.items()})
    decisions = []
    for track, key in found.assign.items():
        target = catalog.status(track, key)
        held = current.get(track)
        decision = decide(held.ref if held else None, target.ref if target else None, automatic=True)
        decisions.append((track, held, target, key, decision, found.assigned_by.get(track, "")))
    return {
        "customer_id": customer_id,
        "intents": found.intents,
        "decisions": decisions,
        "text": text,
        "source": found.source,
        "confidence": found.confidence,
        "suggestion": found.source == "model" and not found.assign,
    }


@bp.route("/intents", methods=["GET"])
@admin_only
def intents():
    me = visitor()
    tried = None
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        packs = workspace_packs(conn, me.workspace_id)
        overrides = workspace_overrides(conn, me.workspace_id)
        matcher = matcher_for(packs) if packs else None
        rows = []
        for intent in matcher.intents if matcher else ():
            assert matcher is not None
            assigned = matcher.assignment(intent.name, template=catalog.template, overrides=overrides)
            rows.append((intent, assigned, intent.name in overrides))
        if "text" in request.args:
            region = conn.execute(
                table_of(Workspace)
                .select()
                .with_only_columns(Workspace.default_region)
                .where(Workspace.id == me.workspace_id)
            ).scalar_one()
            tried = try_message(
                conn, catalog, region, request.args.get("text", ""), request.args.get("customer", "")
            )
    choices = [s for t in catalog.tracks.values() if t.manual for s in t.active]
    return render_template(
        "intents.html",
        catalog=catalog,
        packs=packs,
        rows=rows,
        choices=choices,
        tried=tried,
        args=request.args,
    )


@bp.post("/intents/<name>/assign")
@admin_only
def intent_assign(name: str):
    me = visitor()
    target = request.form.get("status", "")
    with transaction(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        packs = workspace_packs(conn, me.workspace_id)
        names = [i.name for i in matcher_for(packs).intents] if packs else []
        if name not in names:
            raise StatushubError(
                f"no intent {name!r} in this workspace's packs", choices=names, field="intent"
            )
        if target == "-reset":
            reset_intent(conn, catalog, name)
        elif target.startswith("-clear:"):
            assign_intent(conn, catalog, name, None, track=catalog.track(target.split(":", 1)[1]).key)
        else:
            assign_intent(conn, catalog, name, target)
    return redirect(url_for("console.intents", _anchor=f"intent-{name}"))

"""The status editor (admins): add, edit, reorder by drag or keyboard, delete → archive, restore."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from plugin.app.console import bp
from plugin.app.console.auth import admin_only, engine, read_engine, visitor
from plugin.customers.reports import customers_per_status
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.domain.policy import AUTOMATIONS
from plugin.domain.templates import TEMPLATES, tracks_for
from plugin.store.db import reading, transaction
from plugin.workspace.catalog import load_catalog
from plugin.workspace.status_lists import (
    add_status,
    delete_status,
    edit_status,
    reorder_statuses,
    restore_status,
)


def _fields(form) -> dict:
    """The editable fields a form sent; checkboxes count only when their section was on the form."""
    fields = {name: form.get(name) for name in ("label", "emoji", "color", "description", "automation")}
    fields = {k: v.strip() for k, v in fields.items() if v is not None}
    if "flags" in form:
        fields["alert"] = "alert" in form
        fields["terminal"] = "terminal" in form
    return fields


@bp.get("/statuses")
@admin_only
def statuses():
    me = visitor()
    with reading(read_engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        counts = customers_per_status(conn, catalog)
    return render_template(
        "statuses.html",
        catalog=catalog,
        counts=counts,
        automations=AUTOMATIONS,
        templates=[(t, tracks_for(t.key)[0].statuses) for t in TEMPLATES.values()],
        notice=request.args.get("notice", ""),
    )


@bp.post("/statuses/<track>/add")
@admin_only
def status_add(track: str):
    me = visitor()
    with transaction(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        fields = _fields(request.form)
        if not fields.get("label"):
            fields.pop("label", None)
        if not fields.get("color"):
            fields.pop("color", None)
        add_status(conn, catalog, track, request.form.get("key", "").strip(), **fields)
    return redirect(url_for("console.statuses", _anchor=f"track-{track}"))


@bp.post("/statuses/<track>/<key>/edit")
@admin_only
def status_edit(track: str, key: str):
    me = visitor()
    with transaction(engine()) as conn:
        edit_status(conn, load_catalog(conn, me.workspace_id), track, key, **_fields(request.form))
    return redirect(url_for("console.statuses", _anchor=f"track-{track}"))


@bp.post("/statuses/<track>/reorder")
@admin_only
def status_reorder(track: str):
    """The whole new order (from a drag), or one status moved up or down (the keyboard way)."""
    me = visitor()
    with transaction(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        keys = [s.key for s in catalog.track(track).statuses]
        if request.form.get("order"):
            keys = [k.strip() for k in request.form["order"].split(",") if k.strip()]
        else:
            key, direction = request.form.get("key", ""), request.form.get("move", "")
            if key not in keys or direction not in ("up", "down"):
                raise StatushubError("say which status moves, up or down", choices=keys, field="key")
            i = keys.index(key)
            j = i - 1 if direction == "up" else i + 1
            if 0 <= j < len(keys):
                keys[i], keys[j] = keys[j], keys[i]
        reorder_statuses(conn, catalog, track, keys)
    return redirect(url_for("console.statuses", _anchor=f"track-{track}"))


@bp.post("/statuses/<track>/<key>/delete")
@admin_only
def status_delete(track: str, key: str):
    me = visitor()
    with transaction(engine()) as conn:
        catalog = load_catalog(conn, me.workspace_id)
        done = delete_status(conn, catalog, track, key, utcnow())
    if done.archived:
        notice = f"{track}:{key} archived, {done.customers} customers still on it"
    else:
        notice = f"{track}:{key} deleted"
    if done.dangling:
        notice += "; still named by " + "; ".join(done.dangling)
    return redirect(url_for("console.statuses", notice=notice, _anchor=f"track-{track}"))


@bp.post("/statuses/<track>/<key>/restore")
@admin_only
def status_restore(track: str, key: str):
    me = visitor()
    with transaction(engine()) as conn:
        restore_status(conn, load_catalog(conn, me.workspace_id), track, key)
    return redirect(url_for("console.statuses", notice=f"{track}:{key} restored", _anchor=f"track-{track}"))

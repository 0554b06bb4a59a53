"""Failed alerts (admins): the Slack alerts and nudges the alert channel never got, why, and a button
to send them again once the set-up is fixed (SPEC §11)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from plugin.app.console import bp
from plugin.app.console.auth import admin_only, engine, visitor
from plugin.automation.failed_alerts import failed_alerts, retry_alert
from plugin.domain.clock import utcnow
from plugin.domain.errors import StatushubError
from plugin.store.db import reading, transaction


@bp.get("/alerts")
@admin_only
def alerts():
    me = visitor()
    with reading(engine()) as conn:
        found = failed_alerts(conn, me.workspace_id)
    return render_template("alerts.html", failed=found, notice=request.args.get("notice", ""))


@bp.post("/alerts/retry")
@admin_only
def alerts_retry():
    me = visitor()
    which = request.form.get("id", "all")
    if which != "all" and not (which.isascii() and which.isdigit() and len(which) < 16):
        raise StatushubError("say which failed alert to send again", field="id")
    with transaction(engine()) as conn:
        count = retry_alert(conn, me.workspace_id, None if which == "all" else int(which), utcnow())
    notice = f"queued {count} alert{'s' if count != 1 else ''} again; the worker sends {'it' if count == 1 else 'them'}"
    return redirect(url_for("console.alerts", notice=notice))

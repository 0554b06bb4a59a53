"""The `alert` and `nudge` outbox senders: post alerting statuses, long waits and follow-ups to the
alert channel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from adapters.slack import blocks, webapi
from plugin.automation.outbox import Job, Undeliverable
from plugin.store.db import reading
from plugin.store.schema import Customer, Workspace
from plugin.workspace.catalog import load_catalog


def _alert_target(conn, workspace_id: int):
    """The workspace's bot token and alert channel; without both, retrying cannot help."""
    ws = conn.execute(
        select(Workspace.slack_bot_token, Workspace.alert_channel).where(Workspace.id == workspace_id)
    ).first()
    if ws is None or not ws.slack_bot_token or not ws.alert_channel:
        raise Undeliverable("the workspace has no Slack bot token or alert channel")
    return ws


def send_alert(engine: Engine, job: Job, *, api_url: str) -> None:
    """chat.postMessage to the workspace's alert channel with its bot token; raises to be retried."""
    with reading(engine) as conn:
        ws = _alert_target(conn, job.workspace_id)
        name = conn.execute(
            select(Customer.name).where(
                Customer.workspace_id == job.workspace_id, Customer.id == job.customer_id
            )
        ).scalar()
        catalog = load_catalog(conn, job.workspace_id)
    payload = job.payload
    status = catalog.status(payload.get("track", ""), payload.get("to", ""))
    text, found = blocks.alert_message(name or "a customer", job.customer_id or 0, payload, status)
    webapi.call(
        api_url,
        ws.slack_bot_token,
        "chat.postMessage",
        {"channel": ws.alert_channel, "text": text, "blocks": found, "unfurl_links": False},
    )


def send_nudge(engine: Engine, job: Job, *, api_url: str) -> None:
    """The `nudge` sender: reminds the alert channel that a customer has waited on us too long."""
    with reading(engine) as conn:
        ws = _alert_target(conn, job.workspace_id)
    text = nudge_text(job.payload, job.customer_id or 0)
    webapi.call(
        api_url,
        ws.slack_bot_token,
        "chat.postMessage",
        {"channel": ws.alert_channel, "text": text, "unfurl_links": False},
    )


def nudge_text(payload: dict, customer_id: int) -> str:
    """A waiting customer (the default, and nudges queued before follow-ups existed) or a follow-up."""
    name = blocks.escape(payload.get("name") or "a customer")
    if payload.get("kind") == "follow_up":
        days = payload.get("days") or 0
        status = blocks.escape(payload.get("status") or "Cold Lead")
        when = _day(payload.get("last_touched_at", ""))
        return (
            f"{status} {name} (#{customer_id}) has not been touched for {days} day{'s' if days != 1 else ''}"
            f" (last activity {when}): time to suggest a follow-up"
        )
    since = _day(payload.get("waiting_since", ""))
    return f"⏰ {name} (#{customer_id}) has been waiting for a reply since {since}"


def _day(iso: str) -> str:
    """`2026-05-04T12:00:00+00:00` → `2026-05-04 12:00 UTC`; anything else as given."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return blocks.escape(str(iso))

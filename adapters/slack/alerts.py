"""The `alert` and `nudge` outbox senders: post alerting statuses, long waits and follow-ups to the
alert channel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from adapters.slack import blocks, webapi
from plugin.automation.outbox import Job, alert_target


def send_alert(engine: Engine, job: Job, *, api_url: str) -> None:
    """chat.postMessage to the workspace's alert channel with its bot token; raises to be retried."""
    target = alert_target(engine, job)
    ws, name, catalog = target.account, target.customer_name, target.catalog
    payload = job.payload
    status = catalog.status(payload.get("track", ""), payload.get("to", ""))
    text, found = blocks.alert_message(name or "a customer", job.customer_id or 0, payload, status)
    webapi.call(
        api_url,
        ws.secret or "",
        "chat.postMessage",
        {"channel": ws.alert_channel, "text": text, "blocks": found, "unfurl_links": False},
    )


def send_nudge(engine: Engine, job: Job, *, api_url: str) -> None:
    """The `nudge` sender: reminds the alert channel that a customer has waited on us too long."""
    ws = alert_target(engine, job).account
    text = nudge_text(job.payload, job.customer_id or 0)
    webapi.call(
        api_url,
        ws.secret or "",
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

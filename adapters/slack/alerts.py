"""The `alert` and `nudge` outbox senders: post alerting statuses, long waits and follow-ups to the
alert channel. A Slack error no retry can fix dead-letters the item at once, saying what to do; it is
listed by `statushub alerts failed` and on the console (SPEC §11)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from adapters.slack import blocks, webapi
from plugin.automation.outbox import Job, Undeliverable, alert_target
from plugin.workspace.accounts import ChannelAccount

# chat.postMessage errors that retrying cannot fix, and what the admin should do about each
# (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
REINSTALL = "reinstall the Slack app and set its new bot token (statushub workspace edit --slack-bot-token)"
PERMANENT = {
    "not_in_channel": "the Slack app is not a member of the alert channel {channel}: invite it there "
    "(/invite @<your app> in that channel)",
    "channel_not_found": "the alert channel {channel} does not exist or the Slack app cannot see it: "
    "invite the app there or choose another alert channel",
    "is_archived": "the alert channel {channel} is archived: unarchive it or choose another alert channel",
    "invalid_auth": "Slack refused the bot token: " + REINSTALL,
    "not_authed": "no bot token was sent: " + REINSTALL,
    "account_inactive": "the bot token belongs to a deactivated account or an uninstalled app: " + REINSTALL,
    "token_revoked": "the bot token was revoked: " + REINSTALL,
    "missing_scope": "the Slack app lacks the chat:write scope: reinstall it from `statushub slack manifest`",
}


def post(api_url: str, account: ChannelAccount, payload: dict) -> None:
    """chat.postMessage to the alert channel with the workspace's bot token; an error no retry can fix
    is Undeliverable (dead at once), any other failure raises to be retried."""
    try:
        webapi.call(
            api_url,
            account.secret or "",
            "chat.postMessage",
            {"channel": account.alert_channel, "unfurl_links": False, **payload},
        )
    except webapi.SlackCallFailed as exc:
        advice = PERMANENT.get(exc.error)
        if advice is None:
            raise
        raise Undeliverable(f"{exc.error}: " + advice.format(channel=account.alert_channel)) from None


def send_alert(engine: Engine, job: Job, *, api_url: str) -> None:
    """The `alert` sender: a customer entered a status with `alert`."""
    target = alert_target(engine, job)
    text, found = blocks.alert_message(
        target.customer_name or "a customer",
        job.customer_id or 0,
        job.payload,
        target.catalog,
        target.message_text,
    )
    post(api_url, target.account, {"text": text, "blocks": found})


def send_nudge(engine: Engine, job: Job, *, api_url: str) -> None:
    """The `nudge` sender: reminds the alert channel that a customer has waited on us too long."""
    post(api_url, alert_target(engine, job).account, {"text": nudge_text(job.payload, job.customer_id or 0)})


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

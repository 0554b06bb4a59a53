"""Channel accounts: the workspace behind a Twilio number or account, a web chat slug or a Slack team,
as one small credentials record an edge verifies its request with (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select

from plugin.store.prepared import Prepared
from plugin.store.schema import Workspace, table_of

W = table_of(Workspace)


@dataclass(frozen=True, slots=True)
class ChannelAccount:
    """The workspace a channel account belongs to and the secret its requests are verified with (the
    Twilio auth token, the web chat secret; for Slack the bot token it answers with)."""

    workspace_id: int
    secret: str | None
    region: str = "US"
    catalog_version: int | None = None
    settings: dict = field(default_factory=dict)
    number: str | None = None  # the workspace's Twilio number
    account: str | None = None  # its Twilio Account SID
    alert_channel: str | None = None  # the Slack channel its alerts and nudges go to


_COLUMNS = (
    W.c.id,
    W.c.default_region,
    W.c.catalog_version,
    W.c.settings,
    W.c.twilio_number,
    W.c.twilio_account_sid,
    W.c.alert_channel,
)
_BY_NUMBER = Prepared(select(W.c.twilio_auth_token, *_COLUMNS).where(W.c.twilio_number == bindparam("n")))
_BY_TWILIO_ACCOUNT = Prepared(
    select(W.c.twilio_auth_token, *_COLUMNS).where(W.c.twilio_account_sid == bindparam("a")).order_by(W.c.id)
)
_BY_SLUG = Prepared(select(W.c.webchat_secret, *_COLUMNS).where(W.c.slug == bindparam("s")))
_BY_SLACK_TEAM = Prepared(select(W.c.slack_bot_token, *_COLUMNS).where(W.c.slack_team_id == bindparam("t")))
_TWILIO_OF = Prepared(select(W.c.twilio_auth_token, *_COLUMNS).where(W.c.id == bindparam("w")))
_SLACK_OF = Prepared(select(W.c.slack_bot_token, *_COLUMNS).where(W.c.id == bindparam("w")))


def _account(row) -> ChannelAccount:
    secret, workspace_id, region, version, settings, number, account, alert_channel = row
    return ChannelAccount(
        workspace_id, secret, region or "US", version, settings or {}, number, account, alert_channel
    )


def sms_account_before_unit_of_work(conn: Connection, number: str) -> ChannelAccount | None:
    """The account of the Twilio number a message was sent to, read on `conn` before its unit of work.

    Transaction semantics: the read runs on the driver's cursor and never begins a SQLAlchemy
    transaction, so the caller can verify the request first and then open its unit of work with
    `conn.begin()` on the same connection (a `conn.execute` here would autobegin one, and that
    `begin()` would raise InvalidRequestError). On SQLite the read is in autocommit and takes no
    write lock, so another writer waits for the lock only while the message is applied; on PostgreSQL
    the driver's implicit transaction starts with the read and the unit of work continues it, so the
    read is part of the transaction that commits (or rolls back) the message. Also safe inside a
    transaction already begun (then it is simply one of its reads)."""
    row = _BY_NUMBER.first(conn, {"n": number})
    return _account(row) if row else None


def sms_account_of(conn: Connection, account_sid: str, sender: str | None) -> ChannelAccount | None:
    """The account behind a Twilio AccountSid; when the Twilio account serves several workspaces, the
    one whose number `sender` is (a status callback's From)."""
    rows = _BY_TWILIO_ACCOUNT.rows(conn, {"a": account_sid})
    if len(rows) == 1:
        return _account(rows[0])
    return next((_account(r) for r in rows if sender and r[5] == sender), None)


def webchat_account(conn: Connection, slug: str) -> ChannelAccount | None:
    """The workspace a web chat event names by slug (its secret may be None: no web chat set up)."""
    row = _BY_SLUG.first(conn, {"s": slug})
    return _account(row) if row else None


def slack_account(conn: Connection, team_id: str) -> ChannelAccount | None:
    """The workspace installed in a Slack team; its secret is the bot token."""
    row = _BY_SLACK_TEAM.first(conn, {"t": team_id})
    return _account(row) if row else None


def twilio_account_of(conn: Connection, workspace_id: int) -> ChannelAccount | None:
    """The workspace's Twilio account (SID, auth token, number) for sending; None when it has none."""
    row = _TWILIO_OF.first(conn, {"w": workspace_id})
    account = _account(row) if row else None
    if account is None or not (account.account and account.secret and account.number):
        return None
    return account


def slack_account_of(conn: Connection, workspace_id: int) -> ChannelAccount | None:
    """The workspace's Slack bot token and alert channel, for alerts; None without both."""
    row = _SLACK_OF.first(conn, {"w": workspace_id})
    account = _account(row) if row else None
    if account is None or not (account.secret and account.alert_channel):
        return None
    return account

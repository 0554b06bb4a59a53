"""Channel accounts: the workspace behind a Twilio number or account, a web chat slug or a Slack team,
as one small credentials record an edge verifies its request with (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, or_, select

from plugin.store.prepared import Prepared
from plugin.store.schema import TwilioSender, Workspace, table_of

W, S = table_of(Workspace), table_of(TwilioSender)


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
# The workspace owning any of a request's senders (its To, its Messaging Service): one indexed read.
_BY_SENDERS = Prepared(
    select(W.c.twilio_auth_token, *_COLUMNS, S.c.sender)
    .select_from(S.join(W, W.c.id == S.c.workspace_id))
    .where(or_(S.c.sender == bindparam("a"), S.c.sender == bindparam("b"), S.c.sender == bindparam("c")))
)
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


def sms_account_before_unit_of_work(
    conn: Connection, senders: tuple[str, ...], account_sid: str | None = None
) -> ChannelAccount | None:
    """The account of a Twilio request, read on `conn` before its unit of work: the workspace owning
    the first of `senders` (in order of preference: To as sent, To as a plain number, the Messaging
    Service) that one owns, else the one workspace with `account_sid` (none when several have it).

    Transaction semantics: the read runs on the driver's cursor and never begins a SQLAlchemy
    transaction, so the caller can verify the request first and then open its unit of work with
    `conn.begin()` on the same connection (a `conn.execute` here would autobegin one, and that
    `begin()` would raise InvalidRequestError). On SQLite the read is in autocommit and takes no
    write lock, so another writer waits for the lock only while the message is applied; on PostgreSQL
    the driver's implicit transaction starts with the read and the unit of work continues it, so the
    read is part of the transaction that commits (or rolls back) the message. Also safe inside a
    transaction already begun (then it is simply one of its reads)."""
    wanted = [x for x in senders if x][:3]
    if wanted:
        params = dict(zip("abc", wanted + [wanted[0]] * (3 - len(wanted)), strict=True))
        owned = {row[-1]: row[:-1] for row in _BY_SENDERS.rows(conn, params)}
        for sender in wanted:
            if sender in owned:
                return _account(owned[sender])
    if not account_sid:
        return None
    rows = _BY_TWILIO_ACCOUNT.rows(conn, {"a": account_sid})
    return _account(rows[0]) if len(rows) == 1 else None


def sms_account_of(conn: Connection, account_sid: str, senders: tuple[str, ...]) -> ChannelAccount | None:
    """The account behind a Twilio AccountSid (a status callback, whose To is the customer); when the
    Twilio account serves several workspaces, the one owning one of `senders` (its From, its
    Messaging Service) among them."""
    rows = _BY_TWILIO_ACCOUNT.rows(conn, {"a": account_sid})
    if len(rows) == 1:
        return _account(rows[0])
    if not rows:
        return None
    found = sms_account_before_unit_of_work(conn, senders)
    if found is not None and any(r[1] == found.workspace_id for r in rows):
        return found
    return None


def webchat_account(conn: Connection, slug: str) -> ChannelAccount | None:
    """The workspace a web chat event names by slug (its secret may be None: no web chat set up)."""
    row = _BY_SLUG.first(conn, {"s": slug})
    return _account(row) if row else None


def slack_account(conn: Connection, team_id: str) -> ChannelAccount | None:
    """The workspace installed in a Slack team; its secret is the bot token."""
    row = _BY_SLACK_TEAM.first(conn, {"t": team_id})
    return _account(row) if row else None


def twilio_account_of(conn: Connection, workspace_id: int) -> ChannelAccount | None:
    """The workspace's Twilio account (SID, auth token) for sending; None when it has none. Which of its
    senders a message leaves from is `plugin.workspace.twilio_senders.sending_from`'s choice."""
    row = _TWILIO_OF.first(conn, {"w": workspace_id})
    account = _account(row) if row else None
    if account is None or not (account.account and account.secret):
        return None
    return account


def slack_account_of(conn: Connection, workspace_id: int) -> ChannelAccount | None:
    """The workspace's Slack bot token and alert channel, for alerts; None without both."""
    row = _SLACK_OF.first(conn, {"w": workspace_id})
    account = _account(row) if row else None
    if account is None or not (account.secret and account.alert_channel):
        return None
    return account

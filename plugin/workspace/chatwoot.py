"""A workspace's Chatwoot connection (SPEC §11): the account its write-backs go to and the secret its
webhook deliveries are verified with. The API token and the webhook secret are write-only: what this
module shows back says only that they are set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from plugin.domain.errors import StatushubError
from plugin.store.prepared import Prepared
from plugin.store.schema import ChatwootConnection, Workspace, table_of
from plugin.workspace.workspaces import bump_catalog

CW, W = table_of(ChatwootConnection), table_of(Workspace)


class InvalidConnection(StatushubError):
    code = "invalid_chatwoot_connection"


@dataclass(frozen=True, slots=True)
class ChatwootAccount:
    """The connection as the write-back and the CLI use it (secrets included: never print it whole)."""

    workspace_id: int
    url: str
    account_id: int
    api_token: str
    webhook_secret: str
    webhook_id: int | None

    def api(self, path: str) -> str:
        """The account's REST URL for `path` (`labels`, `contacts/42`)."""
        return f"{self.url}/api/v1/accounts/{self.account_id}/{path}"


@dataclass(frozen=True, slots=True)
class InboundAccount:
    """What the webhook path needs, read in one statement by the slug in its URL."""

    workspace_id: int
    account_id: int
    secret: str
    region: str
    catalog_version: int


_BY_SLUG = Prepared(
    select(W.c.id, CW.c.account_id, CW.c.webhook_secret, W.c.default_region, W.c.catalog_version)
    .select_from(W.join(CW, CW.c.workspace_id == W.c.id))
    .where(W.c.slug == bindparam("s"))
)
_OF = Prepared(
    select(
        CW.c.workspace_id, CW.c.url, CW.c.account_id, CW.c.api_token, CW.c.webhook_secret, CW.c.webhook_id
    ).where(CW.c.workspace_id == bindparam("w"))
)


def inbound_account(conn: Connection, slug: str) -> InboundAccount | None:
    """The connected workspace a delivery's URL names; None when there is no such workspace or it has
    no Chatwoot connection (nothing to verify with). Reads without beginning a unit of work, as
    `accounts.sms_account_before_unit_of_work` does."""
    row = _BY_SLUG.first(conn, {"s": slug})
    if row is None:
        return None
    return InboundAccount(row[0], row[1], row[2], row[3] or "US", row[4])


def connection_of(conn: Connection, workspace_id: int) -> ChatwootAccount | None:
    row = _OF.first(conn, {"w": workspace_id})
    return ChatwootAccount(*row) if row else None


def normalized_url(url: str) -> str:
    """The Chatwoot base URL (`https://chat.example.com`), without a trailing slash; http(s) only."""
    text = (url or "").strip().rstrip("/")
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(text) > 2000:
        raise InvalidConnection(f"{url!r} is not an http(s) URL", field="url")
    if parsed.query or parsed.fragment:
        raise InvalidConnection("the Chatwoot URL is its base address, without ? or #", field="url")
    return text


def connect(
    conn: Connection,
    workspace_id: int,
    *,
    url: str,
    account_id: int,
    api_token: str,
    webhook_secret: str,
    webhook_id: int | None,
    now: datetime,
) -> None:
    """Stores (or replaces) the workspace's connection. Bumps the catalog version, so every process's
    cached view of whether the workspace writes back to Chatwoot is read again."""
    if not isinstance(account_id, int) or account_id <= 0:
        raise InvalidConnection("the account id is a positive number", field="account_id")
    if not api_token or not api_token.strip() or len(api_token) > 256:
        raise InvalidConnection("the API token is required (up to 256 characters)", field="api_token")
    if not webhook_secret or len(webhook_secret) > 256:
        raise InvalidConnection(
            "the webhook secret is required (up to 256 characters)", field="webhook_secret"
        )
    row = {
        "workspace_id": workspace_id,
        "url": normalized_url(url),
        "account_id": account_id,
        "api_token": api_token.strip(),
        "webhook_secret": webhook_secret,
        "webhook_id": webhook_id,
        "created_at": now,
        "updated_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CW).values(row)
    kept = {k: stmt.excluded[k] for k in row if k not in ("workspace_id", "created_at")}
    conn.execute(stmt.on_conflict_do_update(index_elements=[CW.c.workspace_id], set_=kept))
    bump_catalog(conn, workspace_id)


def rotate(
    conn: Connection,
    workspace_id: int,
    *,
    api_token: str | None = None,
    webhook_secret: str | None = None,
    now: datetime,
) -> list[str]:
    """Replaces the connection's API token and/or webhook secret (a leaked one rotated: the next
    delivery signed with the old secret is refused). Returns the names of what changed; raises when the
    workspace has no connection or a value is empty or too long."""
    values: dict[str, object] = {}
    if api_token is not None:
        if not api_token.strip() or len(api_token) > 256:
            raise InvalidConnection(
                "the API token is required (up to 256 characters)", field="chatwoot_api_token"
            )
        values["api_token"] = api_token.strip()
    if webhook_secret is not None:
        if not webhook_secret or len(webhook_secret) > 256:
            raise InvalidConnection(
                "the webhook secret is required (up to 256 characters)", field="chatwoot_webhook_secret"
            )
        values["webhook_secret"] = webhook_secret
    if not values:
        return []
    changed = conn.execute(
        update(CW).where(CW.c.workspace_id == workspace_id).values(**values, updated_at=now)
    ).rowcount
    if not changed:
        raise InvalidConnection(
            "this workspace has no Chatwoot connection: run `statushub chatwoot connect` first",
            field="chatwoot",
        )
    bump_catalog(conn, workspace_id)
    return ["chatwoot_" + name for name in values]


def set_webhook(conn: Connection, workspace_id: int, webhook_id: int, secret: str, now: datetime) -> None:
    """Records the account webhook `--register` created and the secret Chatwoot gave it."""
    conn.execute(
        update(CW)
        .where(CW.c.workspace_id == workspace_id)
        .values(webhook_id=webhook_id, webhook_secret=secret, updated_at=now)
    )


_CONNECTED = Prepared(select(CW.c.account_id).where(CW.c.workspace_id == bindparam("w")))


def is_connected(conn: Connection, workspace_id: int) -> bool:
    return _CONNECTED.first(conn, {"w": workspace_id}) is not None


def disconnect(conn: Connection, workspace_id: int) -> bool:
    """Forgets the connection (the contacts the hub knows stay, for a later connect); False when there
    was none. Write-backs still queued are dead-lettered when their turn comes."""
    gone = conn.execute(delete(CW).where(CW.c.workspace_id == workspace_id)).rowcount
    if gone:
        bump_catalog(conn, workspace_id)
    return bool(gone)

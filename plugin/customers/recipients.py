"""Who a message to a customer goes to, on which channel, and whether WhatsApp's 24-hour window is open
(SPEC §3, §11); and opt-outs a provider reports rather than the customer's own STOP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select

from plugin.domain.clock import aware, utcnow
from plugin.domain.errors import OptedOut, StatushubError, UnknownCustomer
from plugin.domain.fold import OPT
from plugin.domain.identities import PHONE_KINDS
from plugin.engine import run_commands
from plugin.store.prepared import Prepared
from plugin.store.schema import Customer, Identity, Message, table_of
from plugin.workspace.catalog import load_catalog
from plugin.workspace.intents import classifier_for

C, ID, M = table_of(Customer), table_of(Identity), table_of(Message)
_OPTED_OUT = Prepared(
    select(C.c.opted_out).where(and_(C.c.workspace_id == bindparam("w"), C.c.id == bindparam("c")))
)
_PHONES = Prepared(
    select(ID.c.value)
    .where(and_(ID.c.workspace_id == bindparam("w"), ID.c.customer_id == bindparam("c")))
    .order_by(ID.c.id)
)


@dataclass(frozen=True)
class Recipient:
    """A customer's address on a phone channel: `identity` (`whatsapp:+1555…`) and `number` (E.164)."""

    customer_id: int
    channel: str
    identity: str
    number: str
    last_inbound_at: datetime | None  # their last inbound message on this channel


def phone_recipient(conn: Connection, workspace_id: int, customer_id: int, channel: str) -> Recipient:
    """The customer's number on `channel` ("sms" or "whatsapp"): that channel's identity, else the
    number of their other phone identity (one person, SPEC §11). Refuses an unknown customer, an SMS
    to one who opted out (a WhatsApp send is not an SMS: SPEC §11) and a customer without a number."""
    if channel not in PHONE_KINDS:
        raise StatushubError(
            f"channel must be one of {', '.join(PHONE_KINDS)}", field="channel", choices=list(PHONE_KINDS)
        )
    customer = _OPTED_OUT.first(conn, {"w": workspace_id, "c": customer_id})
    if customer is None:
        raise UnknownCustomer(f"no customer {customer_id}", field="customer")
    if customer[0] and channel == "sms":
        raise OptedOut(
            "the customer has opted out of SMS (they sent STOP); nothing was sent", field="customer"
        )
    identities = [v for (v,) in _PHONES.rows(conn, {"w": workspace_id, "c": customer_id})]
    phones = [v for v in identities if v.partition(":")[0] in PHONE_KINDS]
    own = [v for v in phones if v.startswith(channel + ":")]
    chosen = (own or phones or [None])[0]
    if chosen is None:
        raise StatushubError("the customer has no phone number", field="customer")
    number = chosen.partition(":")[2]
    last = conn.execute(
        select(func.max(M.c.provider_at)).where(
            M.c.workspace_id == workspace_id,
            M.c.customer_id == customer_id,
            M.c.channel == channel,
            M.c.direction == "inbound",
        )
    ).scalar()
    return Recipient(customer_id, channel, f"{channel}:{number}", number, aware(last) if last else None)


def reply_channel(conn: Connection, workspace_id: int, customer_id: int, channels: list[str]) -> str | None:
    """The channel of the customer's last inbound message among `channels` (those the hub can send on)."""
    return conn.execute(
        select(M.c.channel)
        .where(
            M.c.workspace_id == workspace_id,
            M.c.customer_id == customer_id,
            M.c.direction == "inbound",
            M.c.channel.in_(channels),
        )
        .order_by(M.c.provider_at.desc(), M.c.id.desc())
        .limit(1)
    ).scalar()


def record_opt_out(
    conn: Connection,
    workspace_id: int,
    customer_id: int,
    *,
    source: str,
    actor: str,
    note: str,
    now: datetime | None = None,
) -> bool:
    """Marks the customer opted out because their provider said so (Twilio error 21610), with the
    reason in their history; True when it changed anything. Kept as a command, so replays keep it."""
    customer = _OPTED_OUT.first(conn, {"w": workspace_id, "c": customer_id})
    if customer is None or customer[0]:
        return False
    catalog = load_catalog(conn, workspace_id)
    run_commands(
        conn,
        catalog,
        customer_id,
        [(OPT, "out", source, OPT)],
        actor=actor,
        note=note,
        classify=classifier_for(conn, catalog),
        now=now or utcnow(),
    )
    return True

"""The tables: every row carries its workspace, constraints live in the schema (SPEC §2, §8)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
UTC = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def workspace_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(32))
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    twilio_account_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    twilio_auth_token: Mapped[str | None] = mapped_column(String(128))
    twilio_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    webchat_secret: Mapped[str | None] = mapped_column(String(128))
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    slack_bot_token: Mapped[str | None] = mapped_column(String(256))
    alert_channel: Mapped[str | None] = mapped_column(String(64))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Bumped by every change to the status lists, so a process may cache them and still never
    # act on a stale list: it re-reads when the version it holds is not the stored one.
    catalog_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTC)
    # When a worker last started the daily retention prune (STATUSHUB_RETENTION_DAYS, SPEC §8).
    pruned_at: Mapped[datetime | None] = mapped_column(UTC)
    __table_args__ = (CheckConstraint("slug <> ''", name="slug_not_empty"),)


class TwilioSender(Base):
    """A Twilio sender a workspace owns: a phone number (E.164), a 5–6 digit short code or a Messaging
    Service (`MG…`). Unique across workspaces, so an inbound request has one owner (SPEC §11)."""

    __tablename__ = "twilio_senders"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    sender: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # number | short_code | messaging_service
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        CheckConstraint("kind IN ('number', 'short_code', 'messaging_service')", name="kind"),
        Index("ix_twilio_senders_workspace", "workspace_id", "id"),
    )


class Track(Base):
    __tablename__ = "tracks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    manual: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("workspace_id", "key"), UniqueConstraint("workspace_id", "id"))


class Status(Base):
    __tablename__ = "statuses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    track_id: Mapped[int] = mapped_column(Id)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    emoji: Mapped[str] = mapped_column(String(16), default="")
    color: Mapped[str] = mapped_column(String(7), default="#9ca3af")
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    automation: Mapped[str] = mapped_column(String(16), default="any")
    alert: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTC)
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "track_id"], ["tracks.workspace_id", "tracks.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("workspace_id", "track_id", "key"),
        UniqueConstraint("workspace_id", "id"),
        CheckConstraint("automation IN ('any', 'upgrade_only', 'manual_only')", name="automation"),
        CheckConstraint("color LIKE '#______'", name="color"),
    )


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200), default="")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTC)
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTC)
    waiting_since: Mapped[datetime | None] = mapped_column(UTC)
    # The time of the newest event folded into the statuses: older arrivals re-evaluate (SPEC §3).
    horizon_at: Mapped[datetime | None] = mapped_column(UTC)
    # Denormalized for `sort=priority`: open first, highest stage first, longest waiting first.
    priority_open: Mapped[bool] = mapped_column(Boolean, default=True)
    priority_rank: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTC)
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        UniqueConstraint("workspace_id", "id"),
        Index(
            "ix_customers_priority", "workspace_id", "priority_open", "priority_rank", "waiting_since", "id"
        ),
        Index("ix_customers_name", "workspace_id", "name"),
        # The priority queue's own mixed order, so its first page is read, not sorted (migration 0003;
        # PostgreSQL only: SQLite cannot declare NULLS LAST in an index).
        Index(
            "ix_customers_priority_queue",
            "workspace_id",
            text("priority_open DESC"),
            text("priority_rank DESC"),
            text("waiting_since ASC NULLS LAST"),
            "id",
        ).ddl_if(dialect="postgresql"),
    )


def customer_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["workspace_id", "customer_id"], ["customers.workspace_id", "customers.id"], ondelete="CASCADE"
    )


class CustomerStatus(Base):
    """The status a customer holds on one track, and since when (time rules date from it)."""

    __tablename__ = "customer_statuses"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    track_id: Mapped[int] = mapped_column(Id, primary_key=True)
    status_id: Mapped[int] = mapped_column(Id)
    entered_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        customer_fk(),
        ForeignKeyConstraint(["workspace_id", "status_id"], ["statuses.workspace_id", "statuses.id"]),
        Index("ix_customer_statuses_status", "workspace_id", "status_id", "customer_id"),
    )


class Identity(Base):
    __tablename__ = "identities"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    value: Mapped[str] = mapped_column(String(255))  # "sms:+15551234567", "webchat:v1", "slack:T1/U1"
    __table_args__ = (
        customer_fk(),
        UniqueConstraint("workspace_id", "value"),
        Index("ix_identities_customer", "workspace_id", "customer_id"),
    )


class CustomerLink(Base):
    __tablename__ = "customer_links"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    other_id: Mapped[int] = mapped_column(Id, primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        customer_fk(),
        ForeignKeyConstraint(
            ["workspace_id", "other_id"], ["customers.workspace_id", "customers.id"], ondelete="CASCADE"
        ),
        CheckConstraint("customer_id <> other_id", name="not_self"),
    )


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(String(128))
    provider_at: Mapped[datetime] = mapped_column(UTC)
    received_at: Mapped[datetime] = mapped_column(UTC)
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    intents: Mapped[list] = mapped_column(JSON, default=list)
    media: Mapped[list] = mapped_column(JSON, default=list)  # [{"url", "content_type"}] (migration 0008)
    # "out"/"in" when the provider flagged an opt-out change (or the body was STOP/START).
    opt: Mapped[str | None] = mapped_column(String(3))
    __table_args__ = (
        customer_fk(),
        UniqueConstraint("workspace_id", "channel", "provider_id"),
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        CheckConstraint("sender IN ('customer', 'agent', 'bot')", name="sender"),
        Index("ix_messages_customer_time", "workspace_id", "customer_id", "provider_at", "id"),
        Index("ix_messages_provider_at", "workspace_id", "provider_at"),
    )


class Activity(Base):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    interaction: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(64))
    explain: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        customer_fk(),
        CheckConstraint("interaction IN ('call', 'sms', 'email', 'in_store', 'chat')", name="interaction"),
        Index("ix_activities_customer", "workspace_id", "customer_id", "at"),
    )


class StatusCommand(Base):
    """A decided input that is not a message: a manual change, an activity's effect, a time rule.

    Replays fold these with the messages in time order, so a late message re-evaluates what
    automation decided after it while manual changes stand as they were made (SPEC §3).
    """

    __tablename__ = "status_commands"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(16))  # manual | activity | time | import
    track: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        customer_fk(),
        Index("ix_status_commands_customer", "workspace_id", "customer_id", "at"),
    )


class StatusChange(Base):
    """The append-only audit log: applied changes and blocked automatic decisions."""

    __tablename__ = "status_changes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(Id)
    customer_id: Mapped[int] = mapped_column(Id)
    track: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(64))
    to_status: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    applied: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200), default="")
    message_id: Mapped[int | None] = mapped_column(Id)
    confidence: Mapped[float | None] = mapped_column(Float)  # the model's, for `model:<intent>` changes
    at: Mapped[datetime] = mapped_column(UTC)  # when it happened (event time)
    recorded_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (
        customer_fk(),
        Index("ix_status_changes_customer", "workspace_id", "customer_id", "id"),
        Index("ix_status_changes_time", "workspace_id", "recorded_at"),
    )


class RetentionCheckpoint(Base):
    """A customer's folded state after the history retention pruned (SPEC §8): every message and
    command before `upto` is folded into `state`, so a replay starts here instead of from the pruned
    messages and ends where a replay of the whole history would."""

    __tablename__ = "retention_checkpoints"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    upto: Mapped[datetime] = mapped_column(UTC)
    # {"statuses": {track: [key, entered_at | null]}, "opted_out", "last_inbound_at",
    #  "last_outbound_at", "waiting_since"}: times as ISO 8601 text
    state: Mapped[dict] = mapped_column(JSON)
    pruned: Mapped[int] = mapped_column(Integer, default=0)  # messages pruned from this customer
    updated_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (customer_fk(),)


class OutcomeMapping(Base):
    __tablename__ = "outcome_mappings"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(64))


class IntentAssignment(Base):
    """A workspace's override of what an intent assigns on a track; status None clears it."""

    __tablename__ = "intent_assignments"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    intent: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(64))


class IntentModel(Base):
    """A workspace's trained intent model (SPEC §4); without a row the shipped model is used."""

    __tablename__ = "intent_models"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))
    corrections: Mapped[int] = mapped_column(Integer)  # how many corrections it was trained with
    trained_at: Mapped[datetime] = mapped_column(UTC)


class IntentCorrection(Base):
    """An agent's correction of a message's intent: a labelled example of its workspace (SPEC §4)."""

    __tablename__ = "intent_corrections"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    message_id: Mapped[int | None] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(64))  # an intent name, or "none"
    previous: Mapped[list] = mapped_column(JSON)  # the intents the message had
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (Index("ix_intent_corrections_workspace_id_id", "workspace_id", "id"),)


class WorkspacePack(Base):
    __tablename__ = "workspace_packs"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTC)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC)
    __table_args__ = (
        CheckConstraint("role IN ('agent', 'admin')", name="role"),
        UniqueConstraint("workspace_id", "name"),
    )


class SlackAdmin(Base):
    __tablename__ = "slack_admins"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class Delivery(Base):
    """The first answer to an idempotent delivery (Slack/web chat event_id, API Idempotency-Key)."""

    __tablename__ = "deliveries"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (Index("ix_deliveries_created_at", "workspace_id", "created_at"),)


class OutboxItem(Base):
    """Durable side effects (Slack alerts, nudges, webhooks), written with the change that causes them."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(Id)
    payload: Mapped[dict] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTC)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # A sent item is deleted; only rows an older version marked sent carry it (retention prunes them).
    sent_at: Mapped[datetime | None] = mapped_column(UTC)
    dead_at: Mapped[datetime | None] = mapped_column(UTC)
    created_at: Mapped[datetime] = mapped_column(UTC)
    # Items of one lane are done in order: one is not claimed while an earlier one of its lane is
    # pending (SPEC §8). Every writer gets it by default: `<kind>:<customer>[:<subscription>]`.
    lane: Mapped[str | None] = mapped_column(String(160), default=lambda ctx: outbox_lane_of(ctx))
    __table_args__ = (
        Index("ix_outbox_pending", "sent_at", "dead_at", "due_at"),
        # The claim reads pending items in (due_at, id) order and stops after a batch.
        Index(
            "ix_outbox_due_pending",
            "due_at",
            "id",
            postgresql_where=text("sent_at IS NULL AND dead_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND dead_at IS NULL"),
        ),
        Index(
            "ix_outbox_lane_pending",
            "workspace_id",
            "lane",
            "id",
            postgresql_where=text("sent_at IS NULL AND dead_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND dead_at IS NULL"),
        ),
    )


def outbox_lane(kind: str, customer_id: int | None, payload: dict | None) -> str | None:
    """An outbox item's ordering lane: per customer and kind, and per subscription for webhooks;
    None (no order) for items about no customer."""
    if customer_id is None:
        return None
    subscription = (payload or {}).get("subscription")
    return f"{kind}:{customer_id}" if subscription is None else f"{kind}:{customer_id}:{subscription}"


def outbox_lane_of(context) -> str | None:
    """The column default: the lane of the row being inserted (each row of an executemany too)."""
    p = context.get_current_parameters()
    return outbox_lane(p.get("kind", ""), p.get("customer_id"), p.get("payload"))


class TimeRule(Base):
    """A workspace's time rule (SPEC §9); removed rules keep their row so defaults are seeded once."""

    __tablename__ = "time_rules"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(64))
    when: Mapped[dict] = mapped_column(JSON)  # {track: status}, one or two tracks
    after_minutes: Mapped[int] = mapped_column(Integer)
    to_track: Mapped[str] = mapped_column(String(64))
    to_status: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTC)
    removed_at: Mapped[datetime | None] = mapped_column(UTC)
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("after_minutes >= 1", name="after"),
    )


class TimeRuleDecision(Base):
    """A rule decided (applied or blocked) for one stay of a customer: never again in that stay."""

    __tablename__ = "time_rule_decisions"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    rule_id: Mapped[int] = mapped_column(
        Id, ForeignKey("time_rules.id", ondelete="CASCADE"), primary_key=True
    )
    stay_started_at: Mapped[datetime] = mapped_column(UTC, primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (customer_fk(),)


class Nudge(Base):
    """A nudge queued for one wait (keyed by the customer's waiting_since): once per wait."""

    __tablename__ = "nudges"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    waiting_since: Mapped[datetime] = mapped_column(UTC, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (customer_fk(),)


class FollowUpNudge(Base):
    """A follow-up nudge queued for one Cold Lead stay (keyed by the stay's start): once per stay."""

    __tablename__ = "follow_up_nudges"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id, primary_key=True)
    stay_started_at: Mapped[datetime] = mapped_column(UTC, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (customer_fk(),)


class WebhookSubscription(Base):
    """An outgoing webhook: a URL receiving status changes (all, one track or one status)."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    url: Mapped[str] = mapped_column(String(2000))
    track: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTC)


def table_of(model: type[Base]) -> Table:
    """The model's Table, typed as one (`__table__` is declared as a plain FromClause)."""
    return cast(Table, model.__table__)


class ConsoleSession(Base):
    """A signed-in console session, kept on the server so that signing out ends it: the cookie holds
    the session id, the table only its hash (SPEC §12)."""

    __tablename__ = "console_sessions"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(Id, ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTC)


class SigninFailure(Base):
    """One failed console sign-in from a client address; the last minute's limit further attempts.
    In the database, so the limit holds across processes (SPEC §12)."""

    __tablename__ = "signin_failures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (Index("ix_signin_failures_client_at", "client", "at"),)


class ChatwootConnection(Base):
    """A workspace's Chatwoot account (SPEC §11): where write-backs go and the webhook secret its
    deliveries are verified with. The API token and the secret are write-only: never shown back."""

    __tablename__ = "chatwoot_connections"
    workspace_id: Mapped[int] = mapped_column(
        Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    account_id: Mapped[int] = mapped_column(BigInteger)
    api_token: Mapped[str] = mapped_column(String(256))
    webhook_secret: Mapped[str] = mapped_column(String(256))
    webhook_id: Mapped[int | None] = mapped_column(BigInteger)  # the account webhook --register made
    created_at: Mapped[datetime] = mapped_column(UTC)
    updated_at: Mapped[datetime] = mapped_column(UTC)
    __table_args__ = (CheckConstraint("account_id > 0", name="account_id_positive"),)


class ChatwootContact(Base):
    """A Chatwoot contact the hub has heard from: its customer, the phone it gave (the `sms:` identity
    it added, if any) and its latest conversation, where write-backs put labels."""

    __tablename__ = "chatwoot_contacts"
    workspace_id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Id)
    phone: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    conversation_at: Mapped[datetime | None] = mapped_column(UTC)
    __table_args__ = (customer_fk(), Index("ix_chatwoot_contacts_customer", "workspace_id", "customer_id"))


class HeldMessage(Base):
    """An inbound message verified, stored and answered, not yet folded into its customer's statuses
    (SPEC §8): the Twilio route's durable inbox. The fold moves it into `messages` and deletes it in
    one transaction; one it cannot fold is kept with `failed_at` and its error class, never lost."""

    __tablename__ = "held_messages"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[dict] = mapped_column(JSON)  # the normalized event, as plugin.engine.held writes it
    received_at: Mapped[datetime] = mapped_column(UTC)
    failed_at: Mapped[datetime | None] = mapped_column(UTC)
    error: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        # A redelivery while the first is held inserts nothing (the fold dedups against `messages`).
        UniqueConstraint("workspace_id", "channel", "provider_id"),
        Index("ix_held_messages_workspace_id_id", "workspace_id", "id"),
    )

"""Twilio senders, media with content types, opt-out flags stored on every message (SPEC §11, issue 16)

- `twilio_senders`: a workspace may own several Twilio senders (numbers, short codes, Messaging
  Services), each unique across workspaces so an inbound request has exactly one owner. The number
  each workspace had (`workspaces.twilio_number`) becomes its first sender.
- `messages.media` held a list of URLs; it now holds `[{"url", "content_type"}]` so every surface can
  say what a photo-only MMS carries. Old rows get `content_type: null`.
- `messages.opt`: replays used to re-read STOP/START from the body of rows stored before the column
  existed (0002). WhatsApp STOP is not an opt-out (SPEC §11), so the stored flag must be the only
  truth: old inbound rows whose whole body is a STOP/START keyword get their flag here.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from plugin.domain.optout import opt_change

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "twilio_senders",
        sa.Column("id", Id, nullable=False),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_twilio_senders"),
        sa.UniqueConstraint("sender", name="uq_twilio_senders_sender"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_twilio_senders_workspace_id"
        ),
        sa.CheckConstraint(
            "kind IN ('number', 'short_code', 'messaging_service')", name="ck_twilio_senders_kind"
        ),
    )
    op.create_index("ix_twilio_senders_workspace", "twilio_senders", ["workspace_id", "id"])
    conn = op.get_bind()
    workspaces = sa.table(
        "workspaces", sa.column("id"), sa.column("twilio_number"), sa.column("created_at", UTC)
    )
    senders = sa.table(
        "twilio_senders",
        sa.column("workspace_id"),
        sa.column("sender"),
        sa.column("kind"),
        sa.column("created_at", UTC),
    )
    rows = conn.execute(
        sa.select(workspaces.c.id, workspaces.c.twilio_number, workspaces.c.created_at).where(
            workspaces.c.twilio_number.is_not(None)
        )
    ).all()
    if rows:
        conn.execute(
            sa.insert(senders),
            [
                {
                    "workspace_id": r.id,
                    "sender": r.twilio_number,
                    "kind": "number",
                    "created_at": r.created_at,
                }
                for r in rows
            ],
        )
    _media_with_types(conn)
    _opt_flags(conn)


def _media_with_types(conn) -> None:
    messages = sa.table("messages", sa.column("id"), sa.column("media", sa.JSON))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.media)
            .where(messages.c.id > last, sa.cast(messages.c.media, sa.Text) != "[]")
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for r in rows:
            media = r.media or []
            if any(isinstance(m, str) for m in media):
                fixed = [{"url": m, "content_type": None} if isinstance(m, str) else m for m in media]
                conn.execute(sa.update(messages).where(messages.c.id == r.id).values(media=fixed))
        last = rows[-1].id


def _opt_flags(conn) -> None:
    messages = sa.table(
        "messages", sa.column("id"), sa.column("direction"), sa.column("text"), sa.column("opt")
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.text)
            .where(
                messages.c.id > last,
                messages.c.direction == "inbound",
                messages.c.opt.is_(None),
                sa.func.length(messages.c.text) <= 40,
            )
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for r in rows:
            change = opt_change(r.text or "")
            if change is not None:
                conn.execute(sa.update(messages).where(messages.c.id == r.id).values(opt=change))
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_twilio_senders_workspace", table_name="twilio_senders")
    op.drop_table("twilio_senders")

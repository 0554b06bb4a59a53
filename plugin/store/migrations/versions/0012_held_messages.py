"""held_messages: the Twilio route's durable inbox (SPEC §8, issue 18)

An inbound Twilio message whose answer does not need its new statuses (no auto-reply) is verified,
stored here and answered; the hub folds held messages into statuses in batches a moment later
(STATUSHUB_FOLD_DELAY_MS), moving each into `messages` in the transaction that deletes it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "held_messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("failed_at", UTC, nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_held_messages_workspace_id"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_held_messages"),
        sa.UniqueConstraint(
            "workspace_id", "channel", "provider_id", name="uq_held_messages_workspace_id_channel_provider_id"
        ),
    )
    op.create_index("ix_held_messages_workspace_id_id", "held_messages", ["workspace_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_held_messages_workspace_id_id", table_name="held_messages")
    op.drop_table("held_messages")

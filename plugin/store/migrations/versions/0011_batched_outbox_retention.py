"""outbox lanes for batched claims, and retention checkpoints (SPEC §8, issue 18)

Workers now claim outbox items in batches. Order per customer and webhook subscription used to be
checked by the webhook sender, one query per item; `outbox.lane` names the order an item belongs to,
and a partial index on the pending items of each lane lets the claim skip an item while an earlier
one of its lane is pending; a partial index on (due_at, id) of pending items lets a claim stop after
its batch instead of sorting the whole backlog. Pending rows written before this revision get their lane here.

`statushub prune` deletes old messages; `retention_checkpoints` keeps each pruned customer's folded
state just after them, so a replay after a late message starts there and ends as a replay of the
whole history would have. `workspaces.pruned_at` lets one worker a day claim a workspace's
prune when STATUSHUB_RETENTION_DAYS is set.

Revision ID: 0011
Revises: 0007 (re-pointed by the lead when branches meet)
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)
PENDING = "sent_at IS NULL AND dead_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=160), nullable=True))
    subscription = (
        "(payload->>'subscription')"
        if op.get_bind().dialect.name == "postgresql"
        else "json_extract(payload, '$.subscription')"
    )
    op.execute(
        "UPDATE outbox SET lane = kind || ':' || customer_id"
        f" || COALESCE(':' || {subscription}, '')"
        f" WHERE customer_id IS NOT NULL AND {PENDING}"
    )
    op.create_index(
        "ix_outbox_lane_pending",
        "outbox",
        ["workspace_id", "lane", "id"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    # A claim reads pending items in (due_at, id) order and stops after its batch, whatever the backlog.
    op.create_index(
        "ix_outbox_due_pending",
        "outbox",
        ["due_at", "id"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    op.create_table(
        "retention_checkpoints",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("upto", UTC, nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("pruned", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", name="pk_retention_checkpoints"),
        sa.ForeignKeyConstraint(
            ["workspace_id", "customer_id"],
            ["customers.workspace_id", "customers.id"],
            ondelete="CASCADE",
            name="fk_retention_checkpoints_workspace_id_customer_id",
        ),
    )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pruned_at", UTC, nullable=True))
    # Retention finds old messages by provider time without reading every customer's.
    op.create_index("ix_messages_provider_at", "messages", ["workspace_id", "provider_at"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["workspace_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("pruned_at")
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    op.drop_index("ix_messages_provider_at", table_name="messages")
    op.drop_table("retention_checkpoints")
    op.drop_index("ix_outbox_due_pending", table_name="outbox")
    op.drop_index("ix_outbox_lane_pending", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("lane")

"""time rules, their per-stay decisions, nudges and webhook subscriptions (SPEC §9)

Time rules are seeded from the workspace's template the first time the worker or the command line
reads them (plugin/time_rules.py), so existing workspaces get their defaults without a data step here.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def _customer_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id", "customer_id"],
        ["customers.workspace_id", "customers.id"],
        ondelete="CASCADE",
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name=f"fk_{table}_workspace_id"
    )


def upgrade() -> None:
    op.create_table(
        "time_rules",
        sa.Column("id", Id, primary_key=True),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("when", sa.JSON(), nullable=False),
        sa.Column("after_minutes", sa.Integer(), nullable=False),
        sa.Column("to_track", sa.String(64), nullable=False),
        sa.Column("to_status", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("removed_at", UTC, nullable=True),
        _workspace_fk("time_rules"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_time_rules_workspace_id_name"),
        sa.CheckConstraint("after_minutes >= 1", name="ck_time_rules_after"),
        sa.PrimaryKeyConstraint("id", name="pk_time_rules"),
    )
    op.create_table(
        "time_rule_decisions",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("rule_id", Id, nullable=False),
        sa.Column("stay_started_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "customer_id", "rule_id", "stay_started_at", name="pk_time_rule_decisions"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["time_rules.id"], ondelete="CASCADE", name="fk_time_rule_decisions_rule_id"
        ),
        _customer_fk(),
    )
    op.create_table(
        "nudges",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("waiting_since", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", "waiting_since", name="pk_nudges"),
        _customer_fk(),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("track", sa.String(64), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        _workspace_fk("webhook_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )


def downgrade() -> None:
    for table in ("webhook_subscriptions", "nudges", "time_rule_decisions", "time_rules"):
        op.drop_table(table)

"""follow-up nudges: a Cold Lead left untouched is nudged once per stay (SPEC §9, issue 7)

A table of its own rather than rows in `nudges`: a stay's start and a wait's start can be the same
instant, and one must not silence the other.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "follow_up_nudges",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("stay_started_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "customer_id", "stay_started_at", name="pk_follow_up_nudges"),
        sa.ForeignKeyConstraint(
            ["workspace_id", "customer_id"],
            ["customers.workspace_id", "customers.id"],
            ondelete="CASCADE",
            name="fk_follow_up_nudges_customer",
        ),
    )


def downgrade() -> None:
    op.drop_table("follow_up_nudges")

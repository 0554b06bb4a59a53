"""customers: an index in the priority queue's own order, so `sort=priority` reads one page, not a sort

`GET /api/v1/customers?sort=priority` orders open customers first, highest stage first, longest waiting
first (priority_open DESC, priority_rank DESC, waiting_since ASC NULLS LAST, id). The ascending
ix_customers_priority cannot return that mixed order, so a large workspace sorted every customer for
each page; this index returns the first page directly (bench/queries.py).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL only: SQLite cannot declare NULLS LAST in an index, and the embedded backend's
    # workspaces are small enough to sort.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_customers_priority_queue",
        "customers",
        [
            "workspace_id",
            sa.text("priority_open DESC"),
            sa.text("priority_rank DESC"),
            sa.text("waiting_since ASC NULLS LAST"),
            "id",
        ],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_customers_priority_queue", table_name="customers")

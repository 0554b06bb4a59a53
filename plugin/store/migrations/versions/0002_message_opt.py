"""messages.opt: the provider's own opt-out flag, so a replay sees what the webhook saw

A Twilio OptOutType=STOP on a body that is not a keyword changed the customer's opt-out when it
arrived; without storing the flag a late message's replay could not see it and undid the opt-out.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opt", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("opt")

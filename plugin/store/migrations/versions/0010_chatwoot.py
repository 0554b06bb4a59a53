"""Chatwoot in and out (SPEC §11, issue 15)

A workspace may connect one Chatwoot account: `chatwoot_connections` keeps its URL, account id, API
token and webhook secret (write-only). `chatwoot_contacts` remembers each Chatwoot contact the hub
has heard from: its customer, the phone it added as an `sms:` identity, and its latest conversation,
which the outbox's write-backs label.

Revision ID: 0010
Revises: 0007 (the lead re-chains it after the revisions of the other branches)
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chatwoot_connections",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("api_token", sa.String(length=256), nullable=False),
        sa.Column("webhook_secret", sa.String(length=256), nullable=False),
        sa.Column("webhook_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_chatwoot_connections"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_chatwoot_connections_workspace_id",
        ),
        sa.CheckConstraint("account_id > 0", name="ck_chatwoot_connections_account_id_positive"),
    )
    op.create_table(
        "chatwoot_contacts",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", name="pk_chatwoot_contacts"),
        sa.ForeignKeyConstraint(
            ["workspace_id", "customer_id"],
            ["customers.workspace_id", "customers.id"],
            ondelete="CASCADE",
            name="fk_chatwoot_contacts_workspace_id_customer_id",
        ),
    )
    op.create_index("ix_chatwoot_contacts_customer", "chatwoot_contacts", ["workspace_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_chatwoot_contacts_customer", table_name="chatwoot_contacts")
    op.drop_table("chatwoot_contacts")
    op.drop_table("chatwoot_connections")

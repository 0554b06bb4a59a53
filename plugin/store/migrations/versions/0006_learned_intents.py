"""learned intents: a workspace's trained model, agents' intent corrections, the model's confidence
in the audit log (SPEC §4 "Two matchers", "Corrections")

The model is stored in the database so that every hub process scores with the same one; a workspace
without a row uses the model built from the shipped data. Corrections keep the message's text: they
are training data and must outlive the message's retention.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "intent_models",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("trained_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_intent_models"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_intent_models_workspace_id"
        ),
    )
    op.create_table(
        "intent_corrections",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_intent_corrections"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_intent_corrections_workspace_id"
        ),
        sa.Index("ix_intent_corrections_workspace_id_id", "workspace_id", "id"),
    )
    with op.batch_alter_table("status_changes") as batch:
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_changes") as batch:
        batch.drop_column("confidence")
    op.drop_table("intent_corrections")
    op.drop_table("intent_models")

"""console sessions and failed sign-ins on the server (SPEC §12, issue 17)

Signing out must end a session for good, so a cookie copied before sign-out stops working: the
session lives in `console_sessions` (its id's hash; the cookie holds the id), checked on every page.
Failed sign-ins are limited per client address across every process: each is a row in
`signin_failures`, and only the last minute's count.

Revision ID: 0007
Revises: 0005 (0006 is being added on another branch; this one is re-pointed when they meet)
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", Id, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id_hash", name="pk_console_sessions"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_console_sessions_workspace_id"
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], ondelete="CASCADE", name="fk_console_sessions_token_id"
        ),
    )
    op.create_index("ix_console_sessions_token_id", "console_sessions", ["token_id"])
    op.create_table(
        "signin_failures",
        sa.Column("id", Id, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signin_failures"),
    )
    op.create_index("ix_signin_failures_client_at", "signin_failures", ["client", "at"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_client_at", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_index("ix_console_sessions_token_id", table_name="console_sessions")
    op.drop_table("console_sessions")

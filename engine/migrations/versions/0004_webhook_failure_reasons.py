"""A failed webhook delivery keeps its status and a short reason, never the receiver's answer.

Until now `last_error` of a delivery the receiver answered with an error held the first 300
characters of that answer (`HTTP 500: <body>`); those are cut back to `HTTP 500`. Data only:
the schema does not change, and there is nothing to restore on downgrade.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE webhook_delivery SET last_error = 'HTTP ' || CAST(response_status AS VARCHAR) "
        "WHERE response_status IS NOT NULL AND last_error LIKE 'HTTP %: %'"
    )


def downgrade() -> None:
    pass

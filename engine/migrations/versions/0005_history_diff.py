"""Each history row keeps the field-level diff of its change.

`agreement_event.diff` holds the change set's diff as JSON — the agreement's changed fields with
their old and new values, and each part added, changed or removed (engine/agreements/changes.py,
`ChangeSet.diff`). Rows written before this revision have none (NULL): their `data` still says
what changed, as it did.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreement_event") as batch:
        batch.add_column(sa.Column("diff", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreement_event") as batch:
        batch.drop_column("diff")

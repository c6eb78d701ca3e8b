"""People and organisations read Accord in a language of their own.

`person.language` and `organisation.language` (`en`, `fr`, `es`: engine/statuses.py, `Language`)
choose the language of pages and mail; NULL falls back to the organisation's, then to
`ACCORD_DEFAULT_LANGUAGE` (engine/i18n.py). Rows written before this revision have none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("organisation", "person"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in ("person", "organisation"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")

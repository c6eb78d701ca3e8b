"""Who issued each access token.

Since staff may issue tokens for the people of their own organisation, a token held by one person
may have been made by another, who saw it once. `api_token.issued_by_id` keeps who that was, so the
holder (and anyone who looks after their tokens) sees it beside the token and can revoke it.
Tokens issued before this revision, and those the command line makes, have none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("issued_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_api_token_issued_by_id_person", "person", ["issued_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_constraint("fk_api_token_issued_by_id_person", type_="foreignkey")
        batch.drop_column("issued_by_id")

"""Renewal as a successor: an agreement's successor is found by its predecessor_id, and a review's
outcome may be `renew_as_successor`.

`agreement.predecessor_id` gains an index: every read of an agreement asks for its successor (the
newest agreement naming it as predecessor, engine/agreements/snapshot.py). `review_outcome`
widens from 16 to 32 characters, for `renew_as_successor` (18).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.alter_column("review_outcome", existing_type=sa.String(length=16), type_=sa.String(length=32),
                           existing_nullable=True)
        batch.create_index("ix_agreement_predecessor_id", ["predecessor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.drop_index("ix_agreement_predecessor_id")
        batch.alter_column("review_outcome", existing_type=sa.String(length=32), type_=sa.String(length=16),
                           existing_nullable=True)

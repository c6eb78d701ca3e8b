"""Documents kept with an agreement: the signed copy, letters, evidence.

One row per document (engine/models.py, `Document`); the bytes live in the documents folder,
one file per sha256 (engine/documents.py), not in the database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", engine.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=True),
        sa.Column("amendment_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", engine.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreement.id"]),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["deliverable_id"], ["deliverable.id"]),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_agreement_id", "document", ["agreement_id"])
    op.create_index("ix_document_sha256", "document", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_document_sha256", table_name="document")
    op.drop_index("ix_document_agreement_id", table_name="document")
    op.drop_table("document")

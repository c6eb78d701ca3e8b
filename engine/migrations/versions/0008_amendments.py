"""Amendments: a signed agreement changed by a numbered, signed instrument (engine/amendments).

`amendment` holds each proposal (its kind, reason, the changes, their diff, its own lifecycle
state and compare-and-set version, and the agreement version it was drafted on);
`amendment_signature` each party's signature or approval. `agreement.reference` is the
instrument's reference, which a merged amendment extends with `-A<number>`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import engine.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreement") as batch:
        batch.add_column(sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
    op.create_table(
        'amendment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('workflow_version', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('diff', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', engine.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('merged_at', engine.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('merged_version', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
        sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('agreement_id', 'number'),
    )
    with op.batch_alter_table('amendment') as batch:
        batch.create_index(batch.f('ix_amendment_agreement_id'), ['agreement_id'], unique=False)
    op.create_table(
        'amendment_signature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('amendment_id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('assent', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('at', engine.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['amendment_id'], ['amendment.id'], ),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('amendment_id', 'party_id'),
    )
    with op.batch_alter_table('amendment_signature') as batch:
        batch.create_index(batch.f('ix_amendment_signature_amendment_id'), ['amendment_id'], unique=False)


def downgrade() -> None:
    op.drop_table('amendment_signature')
    op.drop_table('amendment')
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("reference")

"""Disabled people, server-side web sessions, and the per-client count of sign-in link requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00

`person.active` (engine/models.py); `web_session` and `sign_in_request` (engine/directory/signin.py).
Web sessions opened before this revision are not rows, so their cookies are refused: people
sign in again once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import engine.types  # noqa: F401  (engine.types.UTCDateTime)

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))

    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_session_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_session_token_id'), ['token_id'], unique=False)

    op.create_table('sign_in_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client', AutoString(length=64), nullable=False),
    sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_request', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_request_client_created_at', ['client', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_request_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_request_created_at'))
        batch_op.drop_index('ix_sign_in_request_client_created_at')
    op.drop_table('sign_in_request')

    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_token_id'))
        batch_op.drop_index(batch_op.f('ix_web_session_person_id'))
        batch_op.drop_index(batch_op.f('ix_web_session_expires_at'))
    op.drop_table('web_session')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('active')

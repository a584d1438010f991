"""resources listed newest first without a sort: an index on (kind, seq)

A list without an owner or DSO filter (the TSO's, the auditor's) was read through the
(kind, status) index and sorted: with 10,000 PODs that sort took about 80 ms of each request.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index("ix_resource_kind_seq", ["kind", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_kind_seq")

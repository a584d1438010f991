"""indexes for lists over 10,000 PODs: resources newest first, a mass load's progress

- resources (kind, seq): a list without an owner or DSO filter (the TSO's, the auditor's) was
  read through the (kind, status) index and then sorted, about 80 ms of each request with
  10,000 PODs; it now reads newest first from the index.
- operations (load_id, status): a mass load's progress counted its operations by status by
  reading every operation row (each carries its proposal, kBs); the index alone now answers.

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
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index("ix_operations_load_status", ["load_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index("ix_operations_load_status")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_kind_seq")

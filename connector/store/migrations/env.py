"""Alembic's environment: the connector hands it an open connection (see database.migrate)."""

from __future__ import annotations

from alembic import context

from connector.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
)
with context.begin_transaction():
    context.run_migrations()

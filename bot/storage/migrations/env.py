"""Alembic environment: migrations run on the engine the wiring point built."""

from __future__ import annotations

from alembic import context

from bot.storage.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table_schema=None,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

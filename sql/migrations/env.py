"""Alembic environment: runs on the connection cryptoetl passes in, on SQLite or PostgreSQL."""

from alembic import context

# A fixed key so two processes starting on a fresh PostgreSQL database migrate one after the other.
MIGRATION_LOCK_KEY = 7_428_120_551

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    context.run_migrations()

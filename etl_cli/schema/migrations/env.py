"""Alembic environment: runs on the connection cryptoetl passes in, or offline to write a dialect's DDL."""

from alembic import context

# A fixed key so two processes starting on a fresh PostgreSQL database migrate one after the other.
MIGRATION_LOCK_KEY = 7_428_120_551

if context.is_offline_mode():
    # `python -m etl_cli.schema.ddl`: the SQL these migrations run, written out for people (sql/*.sql).
    context.configure(dialect_name=context.config.attributes["dialect"], literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()

"""A PostgreSQL database for one benchmark: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty database through `admin_url`, yield its URL, and drop it."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cryptoetl_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()

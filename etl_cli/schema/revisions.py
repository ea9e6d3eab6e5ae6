"""Alembic revisions of the schema: the newest one, the one a database is at, and the upgrade between them.

Only the upgrade imports Alembic: the read commands ask which revision a database is at, and must start
quickly, so the newest revision is read from the scripts' own `revision =` lines and the database's from its
alembic_version row.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)
# Every script in versions/ declares these two at module level, as script.py.mako writes them.
_REVISION = re.compile(r"^revision(?::[^=\n]*)? = ['\"](\w+)['\"]$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=\n]*)? = (?:None|['\"](\w+)['\"])$", re.M)
_VERSION_TABLE = sa.table("alembic_version", sa.column("version_num"))


def alembic_config() -> Config:
    """Alembic configuration pointing at etl_cli/schema/migrations, with no ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache  # the migration scripts do not change while a process runs
def known_revisions() -> frozenset[str]:
    """Every revision this code has a migration script for."""
    return frozenset(_scripts())


@cache
def head_revision() -> str:
    """The newest revision the code knows: the one no other script revises (a test checks Alembic agrees)."""
    heads = set(_scripts()) - set(_scripts().values())
    assert len(heads) == 1, f"the migrations must have one head, not {sorted(heads)}"
    return heads.pop()


@cache
def _scripts() -> dict[str, str | None]:
    """Each script's revision and the revision it revises."""
    found: dict[str, str | None] = {}
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = script.read_text()
        if revision := _REVISION.search(text):
            found[revision[1]] = _DOWN_REVISION.search(text)[1]
    return found


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(sa.select(_VERSION_TABLE.c.version_num).limit(1))


def schema_problem(revision: str | None) -> str | None:
    """What is wrong with a database at `revision` ("has no cryptoetl schema: ..."), or None at the newest."""
    upgrade_it = "run `cryptoetl db upgrade`"
    if revision == head_revision():
        return None
    if revision is None:
        return f"has no cryptoetl schema: {upgrade_it}"
    if revision in known_revisions():
        return f"is at revision {revision}, older than this cryptoetl's {head_revision()}: {upgrade_it}"
    return f"is at revision {revision}, which this cryptoetl does not know (a newer one migrated it): upgrade"


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest revision (a no-op when it is there) and return it."""
    with engine.connect() as conn:
        if current_revision(conn) == head_revision():
            return head_revision()
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("database migrated to revision %s", head_revision())
    return head_revision()

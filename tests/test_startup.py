"""Start-up holds the line: the CLI imports what a command needs when it runs it, and nothing heavy before.

Measured with `python -X importtime`, which lists every module a process imports: `cryptoetl --help` imports
nothing that a one-command Typer app's `--help` does not, but etl_cli itself; a command's `--help` nothing
that the Typer app imports to run its command (Typer validates options with pydantic); the read commands add
only SQLAlchemy and the driver. No timing is asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from etl_cli.load.engine import open_database

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "bench" / "one_command.py"
# What only writing, fetching, scheduling or serving needs; no read command or --help may pay for it.
HEAVY = {"alembic", "requests", "tenacity", "urllib3", "marshmallow", "apscheduler", "rich", "flask", "mako"}
DATABASE = {"sqlalchemy", "psycopg2", "greenlet"}
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +([\w.]+)$", re.M)


def imported(argv: list[str], **env: str) -> set[str]:
    """The top-level packages a Python process imports, outside the standard library."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env={**os.environ, "TYPER_PEER_PLAIN": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # `health` on a database where nothing has run says so and exits 1: a verdict, not a crash.
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr[-2000:]
    names = {name.split(".")[0] for name in _IMPORTED.findall(result.stderr)}
    return names - set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def typer_alone() -> set[str]:
    """What a one-command Typer app imports to show its help and to run its command: Typer's own needs."""
    return imported([str(PEER), "--help"]) | imported([str(PEER), "--name", "typer"])


def test_help_imports_no_more_than_a_one_command_typer_app():
    assert imported(["-m", "etl_cli", "--help"]) - imported([str(PEER), "--help"]) == {"etl_cli"}


@pytest.mark.parametrize("argv", [["runs", "--help"], ["db", "--help"], ["run", "--help"]])
def test_command_help_imports_only_typer_and_the_cli(argv, typer_alone):
    assert imported(["-m", "etl_cli", *argv]) - typer_alone == {"etl_cli"}


@pytest.mark.parametrize("argv", [["runs"], ["assets"], ["health"]])
def test_read_commands_import_no_alembic_http_or_marshmallow(argv, typer_alone, database_url):
    open_database(database_url).dispose()
    modules = imported(["-m", "etl_cli", *argv], CRYPTOETL_DATABASE_URL=database_url)
    assert modules - typer_alone - DATABASE == {"etl_cli"}
    assert not modules & HEAVY


def test_a_csv_run_imports_no_http_stack(typer_alone, tmp_path):
    # An hourly CSV re-run of an unchanged file is mostly start-up: it must not pay for the API sources.
    url = f"sqlite:///{tmp_path}/cryptoetl.db"
    open_database(url).dispose()
    csv_run = ["-m", "etl_cli", "run", "--source", "csv", "--path", str(ROOT / "fixtures" / "csv")]
    modules = imported(csv_run, CRYPTOETL_DATABASE_URL=url)
    assert not modules & {"requests", "urllib3", "tenacity", "alembic"}

"""A PostgreSQL server that dies mid-run: `cryptoetl run` says so in one line and exits 1, and the next run
closes the dead run's row. On a throwaway cluster of its own (never the shared server), stopped with
`pg_ctlcluster ... stop -m immediate` while the run waits for a page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from etl_cli.schema.tables import etl_runs, market_snapshots
from tests.provider import provider_env
from tests.test_crash import API_RUN, cryptoetl


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster made for one test (Debian's postgresql-common tools)."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *action: str) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, *action], check=True, capture_output=True)


@pytest.fixture
def doomed_postgres() -> Iterator[Cluster]:
    """A cluster of its own on a free port, trust auth, dropped afterwards."""
    if shutil.which("pg_createcluster") is None:
        reason = "pg_createcluster not found (Debian's postgresql-common): no throwaway cluster to stop"
        if os.environ.get("CRYPTOETL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    version = sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = Cluster(version, f"cryptoetl_doomed_{uuid.uuid4().hex[:8]}", port)
    subprocess.run(
        ["pg_createcluster", version, cluster.name, "-p", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    try:
        cluster.ctl("start")
        yield cluster
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, cluster.name], capture_output=True)


def test_a_database_stopped_mid_run_is_one_error_line_and_the_next_run_closes_the_row(
    doomed_postgres, provider
):
    run = cryptoetl(provider_env(doomed_postgres.url, provider), API_RUN)
    assert provider.page_two_requested.wait(timeout=60), run.stderr
    doomed_postgres.ctl("stop", "-m", "immediate")
    provider.release.set()  # page 2 arrives: the run goes on to store it, in a database that is gone
    out, err = run.communicate(timeout=60)

    assert run.returncode == 1, err
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("Error: coingecko run 1 failed: database error: ")
    assert "Connection refused" in line and "the next run marks it abandoned" in line
    assert out.startswith("coingecko run 1 failed in ")  # the summary, from what the run knows of itself

    doomed_postgres.ctl("start")
    rerun = cryptoetl(provider_env(doomed_postgres.url, provider), API_RUN)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    engine = sa.create_engine(doomed_postgres.url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(
                sa.select(etl_runs.c.status, etl_runs.c.error).order_by(etl_runs.c.run_id)
            ).all()
            snapshots = conn.scalar(sa.select(sa.func.count()).select_from(market_snapshots))
    finally:
        engine.dispose()
    assert [tuple(row) for row in runs] == [
        ("abandoned", "the process running it ended before it finished (killed or crashed)"),
        ("succeeded", None),
    ]
    assert snapshots == 250

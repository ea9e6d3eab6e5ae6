"""The API is read-only for real, never creates or migrates a database, and says 503 when it cannot serve."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import db
from etl_cli.schema.tables import etl_runs
from tests.api.conftest import dispose, make_app
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

ROLE_SCRIPT = Path(__file__).resolve().parents[2] / "sql" / "api_readonly_role.sql"
ENDPOINTS = ["/health", "/data", "/assets", "/assets/1", "/assets/1/history", "/stats"]


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True))


def test_a_write_through_the_api_session_fails(loaded):
    with loaded.app.app_context():
        conn = db.get_conn()
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
            conn.execute(
                sa.insert(etl_runs).values(source="coingecko", status="running", started_at=sa.func.now())
            )
        db.close_conn()
    with loaded.app.app_context():
        conn = db.get_conn()
        if conn.dialect.name == "postgresql":
            # Even a transaction that asks to write is refused, and slow statements are cut.
            assert conn.scalar(sa.text("SHOW default_transaction_read_only")) == "on"
            assert conn.scalar(sa.text("SHOW statement_timeout")) == "5s"
            assert conn.scalar(sa.text("SHOW jit")) == "off"
        else:
            assert conn.scalar(sa.text("PRAGMA query_only")) == 1
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
            conn.execute(sa.text("CREATE TABLE intruder (x integer)"))
        db.close_conn()


def test_a_slow_query_is_cut_by_the_statement_timeout_and_answered_503(loaded):
    app = make_app(loaded.url, statement_timeout_ms=200)

    @app.route("/slow")
    def slow() -> str:
        conn = db.get_conn()
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_sleep(3)"))
        else:  # some seconds of work for SQLite
            conn.execute(
                sa.text(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
                    "SELECT count(*) FROM c"
                )
            )
        return "done"

    try:
        client = app.test_client()
        response = client.get("/slow")
        assert response.status_code == 503
        assert body(response)["message"] == "the query took longer than the statement timeout allows"
        # The connection is usable afterwards: the next request is served.
        assert client.get("/data?limit=1").status_code == 200
    finally:
        dispose(app)


def test_missing_database_is_a_503_and_is_not_created(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        path = tmp_path / "absent" / "nothing.db"
        url = f"sqlite:///{path}"
    else:
        url = sa.make_url(database_url).set(database=f"absent_{uuid.uuid4().hex[:8]}").render_as_string(False)
    app = make_app(url)
    try:
        client = app.test_client()
        for endpoint in ENDPOINTS:
            response = client.get(endpoint)
            assert response.status_code == 503, endpoint
            error = body(response)
            assert set(error) == {"code", "status", "message", "errors"}
            assert error["message"].startswith("the database is unreachable: ")
            assert response.headers["X-Request-ID"]
    finally:
        dispose(app)
    if database_url.startswith("sqlite"):
        assert not path.exists() and not path.parent.exists()


def test_unreachable_server_is_a_503(tmp_path):
    app = make_app("postgresql+psycopg2://postgres@127.0.0.1:9/nowhere", connect_timeout_s=2)
    try:
        response = app.test_client().get("/health")
        assert response.status_code == 503
        assert "unreachable" in body(response)["message"]
    finally:
        dispose(app)


def test_database_without_schema_is_a_503_and_stays_unmigrated(database_url):
    if database_url.startswith("sqlite"):
        sqlite3.connect(sa.make_url(database_url).database).close()  # an empty file
    app = make_app(database_url)
    try:
        client = app.test_client()
        for endpoint in ENDPOINTS:
            response = client.get(endpoint)
            assert response.status_code == 503, endpoint
            assert body(response)["message"] == (
                "the database has no cryptoetl schema yet: run `cryptoetl db upgrade`"
            )
    finally:
        dispose(app)
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def role_script(role: str, password: str) -> str:
    """The shipped script as psql would run it, for another role name (roles are cluster-wide)."""
    script = ROLE_SCRIPT.read_text()
    assert script.count(":'api_password'") == 1 and script.count("'cryptoetl_api'") == 1
    return script.replace(":'api_password'", f"'{password}'").replace("'cryptoetl_api'", f"'{role}'")


def test_readonly_role_script_grants_select_only():
    role = f"cryptoetl_api_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    databases = postgres_database()
    url = next(databases)
    try:
        from etl_cli.load.engine import open_database

        owner = open_database(url)
        try:
            with owner.begin() as conn:
                conn.exec_driver_sql("INSERT INTO source_checkpoints (source) VALUES ('coingecko')")
            for _ in range(2):  # idempotent: a second run changes nothing and does not fail
                with owner.begin() as conn, conn.connection.dbapi_connection.cursor() as cursor:
                    cursor.execute(role_script(role, "s3cret"))  # the whole file, as psql sends it
            with owner.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE later_table (x integer)")  # default privileges cover it
            as_role = sa.create_engine(sa.make_url(url).set(username=role, password="s3cret"))
            try:
                with as_role.connect() as conn:
                    assert conn.scalar(sa.text("SELECT source FROM source_checkpoints")) == "coingecko"
                    assert conn.scalar(sa.text("SELECT count(*) FROM market_snapshots")) == 0
                    assert conn.scalar(sa.text("SELECT count(*) FROM later_table")) == 0
                    assert conn.scalar(sa.text("SHOW default_transaction_read_only")) == "on"
                for statement in (
                    "INSERT INTO source_checkpoints (source) VALUES ('csv')",
                    "SET TRANSACTION READ WRITE; UPDATE source_checkpoints SET last_error = 'x'",
                    "DELETE FROM etl_runs",
                    "CREATE TABLE intruder (x integer)",
                ):
                    with (
                        as_role.connect() as conn,
                        pytest.raises(sa.exc.DBAPIError, match=r"denied|read-only"),
                    ):
                        conn.exec_driver_sql(statement)
                # The API itself runs fine as that role.
                app = make_app(sa.make_url(url).set(username=role, password="s3cret").render_as_string(False))
                try:
                    assert app.test_client().get("/data").status_code == 200
                finally:
                    dispose(app)
            finally:
                as_role.dispose()
        finally:
            owner.dispose()
    finally:
        databases.close()  # drops the database, and with it the role's grants there
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()

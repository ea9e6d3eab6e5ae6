-- The cryptoetl schema for sqlite, generated from etl_cli/schema/migrations by
--   python -m etl_cli.schema.ddl
-- Do not edit: add a migration and run that command again.

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE etl_runs (
    run_id INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    started_at DATETIME NOT NULL,
    finished_at DATETIME,
    extracted INTEGER DEFAULT '0' NOT NULL,
    loaded INTEGER DEFAULT '0' NOT NULL,
    skipped INTEGER DEFAULT '0' NOT NULL,
    rejected INTEGER DEFAULT '0' NOT NULL,
    http_requests INTEGER DEFAULT '0' NOT NULL,
    http_retries INTEGER DEFAULT '0' NOT NULL,
    error TEXT,
    pid INTEGER,
    hostname VARCHAR(255),
    PRIMARY KEY (run_id),
    CONSTRAINT ck_etl_runs_status CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned'))
);

CREATE INDEX ix_etl_runs_source_started_at ON etl_runs (source, started_at);

CREATE TABLE raw_payloads (
    payload_id INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    url TEXT NOT NULL,
    http_status INTEGER,
    fetched_at DATETIME NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    body BLOB NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (payload_id),
    CONSTRAINT uq_raw_payloads_source_url_sha256 UNIQUE (source, url, sha256),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id)
);

CREATE TABLE assets (
    asset_id INTEGER NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    origin_source VARCHAR(32) NOT NULL,
    origin_source_asset_id VARCHAR(200) NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (asset_id),
    CONSTRAINT uq_assets_origin UNIQUE (origin_source, origin_source_asset_id)
);

CREATE TABLE asset_sources (
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200) NOT NULL,
    asset_id INTEGER NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    first_seen_at DATETIME NOT NULL,
    PRIMARY KEY (source, source_asset_id),
    FOREIGN KEY(asset_id) REFERENCES assets (asset_id)
);

CREATE INDEX ix_asset_sources_asset_id ON asset_sources (asset_id);

CREATE TABLE market_snapshots (
    snapshot_id INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200) NOT NULL,
    asset_id INTEGER NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    observed_at DATETIME NOT NULL,
    price_usd TEXT NOT NULL,
    market_cap_usd TEXT,
    volume_24h_usd TEXT,
    market_cap_rank INTEGER,
    circulating_supply TEXT,
    total_supply TEXT,
    max_supply TEXT,
    run_id INTEGER NOT NULL,
    payload_id INTEGER NOT NULL,
    loaded_at DATETIME NOT NULL,
    PRIMARY KEY (snapshot_id),
    CONSTRAINT uq_market_snapshots_observation UNIQUE (source, source_asset_id, observed_at),
    FOREIGN KEY(asset_id) REFERENCES assets (asset_id),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id),
    FOREIGN KEY(payload_id) REFERENCES raw_payloads (payload_id)
);

CREATE INDEX ix_market_snapshots_asset_id_observed_at ON market_snapshots (asset_id, observed_at);

CREATE INDEX ix_market_snapshots_observed_at ON market_snapshots (observed_at);

CREATE INDEX ix_market_snapshots_symbol_observed_at ON market_snapshots (symbol, observed_at);

CREATE INDEX ix_market_snapshots_price_usd_snapshot_id ON market_snapshots (price_usd, snapshot_id);

CREATE TABLE rejected_records (
    reject_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200),
    reason TEXT NOT NULL,
    fragment TEXT NOT NULL,
    payload_id INTEGER NOT NULL,
    rejected_at DATETIME NOT NULL,
    PRIMARY KEY (reject_id),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id),
    FOREIGN KEY(payload_id) REFERENCES raw_payloads (payload_id)
);

CREATE INDEX ix_rejected_records_run_id ON rejected_records (run_id);

CREATE TABLE source_checkpoints (
    source VARCHAR(32) NOT NULL,
    last_run_id INTEGER,
    last_success_at DATETIME,
    last_failure_at DATETIME,
    last_error TEXT,
    last_observed_at DATETIME,
    last_loaded_at DATETIME,
    state TEXT,
    PRIMARY KEY (source),
    FOREIGN KEY(last_run_id) REFERENCES etl_runs (run_id)
);

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING version_num;

-- Running upgrade 0001 -> 0007

CREATE TABLE payload_chunks (
    payload_id INTEGER NOT NULL,
    first_line INTEGER NOT NULL,
    long_lines TEXT,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (payload_id, first_line),
    FOREIGN KEY(payload_id) REFERENCES raw_payloads (payload_id),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id)
);

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0001';


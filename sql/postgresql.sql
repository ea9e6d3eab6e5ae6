-- The cryptoetl schema for postgresql, generated from etl_cli/schema/migrations by
--   python -m etl_cli.schema.ddl
-- Do not edit: add a migration and run that command again.

BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE etl_runs (
    run_id SERIAL NOT NULL,
    source VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at TIMESTAMP WITH TIME ZONE,
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
    payload_id BIGSERIAL NOT NULL,
    source VARCHAR(32) NOT NULL,
    url TEXT NOT NULL,
    http_status INTEGER,
    fetched_at TIMESTAMP WITH TIME ZONE NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    body BYTEA NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (payload_id),
    CONSTRAINT uq_raw_payloads_source_url_sha256 UNIQUE (source, url, sha256),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id)
);

CREATE TABLE assets (
    asset_id SERIAL NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    origin_source VARCHAR(32) NOT NULL,
    origin_source_asset_id VARCHAR(200) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (asset_id),
    CONSTRAINT uq_assets_origin UNIQUE (origin_source, origin_source_asset_id)
);

CREATE TABLE asset_sources (
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200) NOT NULL,
    asset_id INTEGER NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (source, source_asset_id),
    FOREIGN KEY(asset_id) REFERENCES assets (asset_id)
);

CREATE INDEX ix_asset_sources_asset_id ON asset_sources (asset_id);

CREATE TABLE market_snapshots (
    snapshot_id BIGSERIAL NOT NULL,
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200) NOT NULL,
    asset_id INTEGER NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    name TEXT,
    observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    price_usd NUMERIC NOT NULL,
    market_cap_usd NUMERIC,
    volume_24h_usd NUMERIC,
    market_cap_rank INTEGER,
    circulating_supply NUMERIC,
    total_supply NUMERIC,
    max_supply NUMERIC,
    run_id INTEGER NOT NULL,
    payload_id BIGINT NOT NULL,
    loaded_at TIMESTAMP WITH TIME ZONE NOT NULL,
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
    reject_id BIGSERIAL NOT NULL,
    run_id INTEGER NOT NULL,
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200),
    reason TEXT NOT NULL,
    fragment TEXT NOT NULL,
    payload_id BIGINT NOT NULL,
    rejected_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (reject_id),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id),
    FOREIGN KEY(payload_id) REFERENCES raw_payloads (payload_id)
);

CREATE INDEX ix_rejected_records_run_id ON rejected_records (run_id);

CREATE TABLE source_checkpoints (
    source VARCHAR(32) NOT NULL,
    last_run_id INTEGER,
    last_success_at TIMESTAMP WITH TIME ZONE,
    last_failure_at TIMESTAMP WITH TIME ZONE,
    last_error TEXT,
    last_observed_at TIMESTAMP WITH TIME ZONE,
    last_loaded_at TIMESTAMP WITH TIME ZONE,
    state TEXT,
    PRIMARY KEY (source),
    FOREIGN KEY(last_run_id) REFERENCES etl_runs (run_id)
);

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;

-- Running upgrade 0001 -> 0002

ALTER TABLE assets ADD COLUMN merged_into INTEGER;

ALTER TABLE asset_sources ADD COLUMN rule VARCHAR(16) DEFAULT 'unrecorded' NOT NULL;

ALTER TABLE asset_sources ADD COLUMN evidence TEXT;

UPDATE asset_sources SET rule = 'new' WHERE EXISTS (SELECT 1 FROM assets WHERE assets.asset_id = asset_sources.asset_id AND assets.origin_source = asset_sources.source AND assets.origin_source_asset_id = asset_sources.source_asset_id);

CREATE TABLE asset_corrections (
    correction_id SERIAL NOT NULL,
    kind VARCHAR(8) NOT NULL,
    from_asset_id INTEGER NOT NULL,
    to_asset_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    links TEXT NOT NULL,
    corrected_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (correction_id),
    CONSTRAINT ck_asset_corrections_kind CHECK (kind IN ('merge', 'split')),
    FOREIGN KEY(from_asset_id) REFERENCES assets (asset_id),
    FOREIGN KEY(to_asset_id) REFERENCES assets (asset_id)
);

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

-- Running upgrade 0002 -> 0003

ALTER TABLE etl_runs ADD COLUMN kind VARCHAR(16) DEFAULT 'run' NOT NULL;

ALTER TABLE etl_runs ADD CONSTRAINT ck_etl_runs_kind CHECK (kind IN ('run', 'backfill', 'replay'));

CREATE TABLE backfill_ranges (
    source VARCHAR(32) NOT NULL,
    source_asset_id VARCHAR(200) NOT NULL,
    granularity VARCHAR(16) NOT NULL,
    range_start TIMESTAMP WITH TIME ZONE NOT NULL,
    range_end TIMESTAMP WITH TIME ZONE NOT NULL,
    run_id INTEGER NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (source, source_asset_id, granularity, range_start, range_end),
    CONSTRAINT ck_backfill_ranges_order CHECK (range_start < range_end),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id)
);

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

-- Running upgrade 0003 -> 0004

ALTER TABLE etl_runs ADD COLUMN heartbeat_at TIMESTAMP WITH TIME ZONE;

UPDATE etl_runs SET status = 'abandoned', finished_at = started_at, error = 'left running beside a newer run of its source (closed by migration 0004)' WHERE status = 'running' AND run_id < (SELECT max(newer.run_id) FROM etl_runs AS newer WHERE newer.source = etl_runs.source AND newer.status = 'running');

CREATE UNIQUE INDEX uq_etl_runs_running_source ON etl_runs (source) WHERE status = 'running';

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

-- Running upgrade 0004 -> 0005

CREATE TABLE payload_chunks (
    payload_id BIGINT NOT NULL,
    first_line INTEGER NOT NULL,
    long_lines TEXT,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (payload_id, first_line),
    FOREIGN KEY(payload_id) REFERENCES raw_payloads (payload_id),
    FOREIGN KEY(run_id) REFERENCES etl_runs (run_id)
);

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';

-- Running upgrade 0005 -> 0006

CREATE INDEX ix_market_snapshots_observed_at_snapshot_id ON market_snapshots (observed_at, snapshot_id);

CREATE INDEX ix_market_snapshots_market_cap_usd_snapshot_id ON market_snapshots (market_cap_usd, snapshot_id);

CREATE INDEX ix_market_snapshots_market_cap_rank_snapshot_id ON market_snapshots (market_cap_rank, snapshot_id);

CREATE INDEX ix_etl_runs_source_kind_run_id ON etl_runs (source, kind, run_id);

CREATE INDEX ix_etl_runs_source_kind_status_run_id ON etl_runs (source, kind, status, run_id);

DROP INDEX ix_market_snapshots_observed_at;

DROP INDEX ix_market_snapshots_asset_id_observed_at;

CREATE INDEX ix_market_snapshots_asset_id_observed_at ON market_snapshots (asset_id, observed_at) INCLUDE (source, snapshot_id, price_usd, market_cap_usd, volume_24h_usd);

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';

-- Running upgrade 0006 -> 0007

CREATE TABLE etl_run_totals (
    source VARCHAR(32) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    runs BIGINT NOT NULL,
    loaded BIGINT NOT NULL,
    PRIMARY KEY (source, kind, status)
);

INSERT INTO etl_run_totals (source, kind, status, runs, loaded) SELECT source, kind, status, count(*), sum(loaded) FROM etl_runs GROUP BY source, kind, status;

CREATE FUNCTION etl_run_totals_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE etl_run_totals SET runs = runs - 1, loaded = loaded - OLD.loaded
    WHERE source = OLD.source AND kind = OLD.kind AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO etl_run_totals (source, kind, status, runs, loaded)
    VALUES (NEW.source, NEW.kind, NEW.status, 1, NEW.loaded)
    ON CONFLICT (source, kind, status)
    DO UPDATE SET runs = etl_run_totals.runs + 1, loaded = etl_run_totals.loaded + excluded.loaded;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER etl_runs_totals AFTER INSERT OR DELETE OR UPDATE OF source, kind, status, loaded ON etl_runs
FOR EACH ROW EXECUTE FUNCTION etl_run_totals_follow();

CREATE FUNCTION etl_run_totals_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM etl_run_totals;
    RETURN NULL;
END
$$;

CREATE TRIGGER etl_runs_totals_truncate AFTER TRUNCATE ON etl_runs
FOR EACH STATEMENT EXECUTE FUNCTION etl_run_totals_clear();

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';

COMMIT;


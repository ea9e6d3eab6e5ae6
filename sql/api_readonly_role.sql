-- The PostgreSQL role the read-only API connects as: SELECT on the cryptoetl tables, nothing else.
--
--   psql -v ON_ERROR_STOP=1 -v api_password='choose-one' -d crypto -f sql/api_readonly_role.sql
--
-- Run it in the cryptoetl database as a superuser, or as the role that owns the cryptoetl tables (the one
-- `cryptoetl db upgrade` connects as). It is idempotent: run it again at any time (it resets the password).
-- Then start the API with CRYPTOETL_DATABASE_URL=postgresql+psycopg2://cryptoetl_api:PASSWORD@HOST/crypto
-- The role is named on the next line, once; rename it there if you need another name.
SET cryptoetl.api_role = 'cryptoetl_api';
SET cryptoetl.api_password = :'api_password';

-- psql does not expand :variables inside $$ ... $$, hence the two session settings above.
DO $$
DECLARE
    api_role text := current_setting('cryptoetl.api_role');
    api_password text := current_setting('cryptoetl.api_password');
    tables_owner text;
BEGIN
    IF api_password = '' THEN
        RAISE EXCEPTION 'give the password: psql -v api_password=... -f sql/api_readonly_role.sql';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = api_role) THEN
        EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', api_role, api_password);
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', api_role, api_password);
    END IF;
    -- Even a session that forgets the API's connect options can neither write nor run for long.
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', api_role);
    EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', api_role, '5s');

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), api_role);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', api_role);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', api_role);
    -- SELECT-only even if someone granted more by hand.
    EXECUTE format(
        'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM %I',
        api_role
    );
    -- Tables that later migrations create belong to the tables' owner: let those be readable too.
    SELECT tableowner INTO tables_owner
      FROM pg_tables WHERE schemaname = 'public' AND tablename = 'alembic_version';
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I',
        coalesce(tables_owner, current_user), api_role
    );
END
$$;

-- Do not leave the password in this session's settings.
RESET cryptoetl.api_password;

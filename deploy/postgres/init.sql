-- Runs once when the Postgres volume is created. Services log in as konstruct_service, which
-- is not a superuser and owns nothing; the migrations grant it the app and routing roles.
CREATE EXTENSION IF NOT EXISTS vector;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'konstruct_service') THEN
    CREATE ROLE konstruct_service LOGIN PASSWORD 'konstruct_service' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;
GRANT CONNECT ON DATABASE konstruct TO konstruct_service;

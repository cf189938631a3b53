-- Creates the ProcClaw Healing database and its owner next to Temporal's own databases.
--
-- The postgres image runs this file once, as the superuser (POSTGRES_USER, `temporal` in
-- docker-compose.yml), the first time it initialises an empty data volume. Temporal's databases
-- (`temporal`, `temporal_visibility`) are created separately, by the temporal-schema job (docker/temporal-schema.sh).
-- To change the password, change it here and in DATABASE_URL in docker-compose.yml, then recreate
-- the volume (or run ALTER ROLE healing PASSWORD '...' by hand on an existing one).

CREATE ROLE healing WITH LOGIN PASSWORD 'healing';
CREATE DATABASE healing OWNER healing ENCODING 'UTF8';
-- Only its owner (and superusers) may connect to the healing database.
REVOKE ALL ON DATABASE healing FROM PUBLIC;

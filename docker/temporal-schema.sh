#!/bin/sh
# Temporal's schema on the compose Postgres (run by the `temporal-schema` service in
# docker-compose.yml, in the temporalio/admin-tools image). For each of `temporal` and
# `temporal_visibility`: create the database when missing, set up the version tables, and apply the
# versioned updates this image ships. Safe on every `docker compose up`: an existing database is
# kept, `setup-schema -v 0.0` leaves a newer recorded version alone, and `update-schema` applies
# only the versions after it. Connection: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu

SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

for pair in temporal:temporal visibility:temporal_visibility; do
  schema=${pair%%:*}
  database=${pair#*:}
  echo "temporal-schema: ${database}"
  temporal-sql-tool --db "$database" create-database
  temporal-sql-tool --db "$database" setup-schema -v 0.0
  temporal-sql-tool --db "$database" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
done
echo "temporal-schema: both databases are current"

#!/usr/bin/env bash
# Ensures a local PostgreSQL for development and tests: server installed, a cluster running on
# 127.0.0.1:5432, a superuser role `seal` (password `seal`, so tests may CREATE DATABASE) and a
# database `seal`. Idempotent; safe to run as root with no TTY (CI). Diagnostics go to stderr;
# the last line on stdout is the connection URL.
set -euo pipefail

PORT=5432
ROLE=seal
PASSWORD=seal
DATABASE=seal
URL="postgres://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DATABASE}"

log() { echo "pg.sh: $*" >&2; }
die() { log "$*"; exit 1; }

latest_version() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && basename "$(dirname "$(dirname "$dir")")"
}

# Fast path: everything already in place (also the only path for a non-root user).
if command -v psql >/dev/null 2>&1 &&
  [ "$(psql "$URL" -XAtqc 'select rolsuper from pg_roles where rolname = current_user' 2>/dev/null)" = "t" ]; then
  echo "$URL"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "PostgreSQL is not reachable at 127.0.0.1:${PORT} as ${ROLE}; run this script as root to set it up"

if [ -z "$(latest_version || true)" ] || ! command -v pg_lsclusters >/dev/null 2>&1; then
  log "installing PostgreSQL (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
fi
VERSION=$(latest_version || true)
[ -n "$VERSION" ] || die "PostgreSQL server binaries not found after install"

# The cluster serving our port, if any: "version name status".
cluster_on_port() {
  pg_lsclusters --no-header 2>/dev/null | awk -v p="$PORT" '$3 == p { print $1, $2, $4; exit }'
}

CLUSTER=$(cluster_on_port)
if [ -z "$CLUSTER" ]; then
  name=main
  if pg_lsclusters --no-header 2>/dev/null | awk -v v="$VERSION" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
    name=seal
  fi
  log "creating cluster ${VERSION}/${name} on port ${PORT}"
  pg_createcluster --port="$PORT" "$VERSION" "$name" >&2
  CLUSTER=$(cluster_on_port)
  [ -n "$CLUSTER" ] || die "cluster creation did not produce a cluster on port ${PORT}"
fi
read -r CVER CNAME CSTATUS <<<"$CLUSTER"

case "$CSTATUS" in
  online*) ;;
  *)
    log "starting cluster ${CVER}/${CNAME}"
    # A container restart leaves /run empty; the socket directory must exist before start.
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    pg_ctlcluster "$CVER" "$CNAME" start >&2
    ;;
esac

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "cluster ${CVER}/${CNAME} does not accept connections on 127.0.0.1:${PORT}"

as_postgres() { runuser -u postgres -- "$@"; }

as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres >&2 <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}';
  ELSE
    ALTER ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}';
  END IF;
END
\$\$;
SQL

if [ "$(as_postgres psql -X -Atq -p "$PORT" -d postgres -c "select 1 from pg_database where datname = '${DATABASE}'")" != "1" ]; then
  as_postgres createdb -p "$PORT" -O "$ROLE" "$DATABASE" >&2
fi

psql "$URL" -XAtqc 'select 1' >/dev/null || die "cannot connect as ${ROLE} over TCP (check pg_hba.conf allows password auth on 127.0.0.1)"
echo "$URL"

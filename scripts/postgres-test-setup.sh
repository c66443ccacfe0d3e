#!/bin/sh
# Start the local PostgreSQL cluster and create the `deis` test role (idempotent).
# Prints the URL to export as DEIS_TEST_DATABASE_URL.
set -eu

if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null
fi
VERSION="$(ls /etc/postgresql | sort -n | tail -1)"

if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    pg_ctlcluster "$VERSION" main start
fi

# Wait until the server accepts connections.
i=0
until su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge 30 ] && { echo "PostgreSQL did not start" >&2; exit 1; }
    sleep 1
done

su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'deis'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE deis LOGIN SUPERUSER PASSWORD 'deis'\""

PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }')"
echo "export DEIS_TEST_DATABASE_URL=postgresql://deis:deis@127.0.0.1:${PORT:-5432}/postgres"

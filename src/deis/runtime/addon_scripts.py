"""The add-on servers' start scripts, the same on one machine (a podman container) and on
a cluster (a StatefulSet's pod), both on the add-on stack image."""

from __future__ import annotations

from deis.domain.addons import Addon

# Run as root in the container: make the data directory the server's, set it up the
# first time, then run the server as its own user. The password comes from the
# environment (ADDON_PASSWORD), never from a command line.
POSTGRES_SCRIPT = r"""
set -eu
export PGDATA=/data/pg
mkdir -p "$PGDATA" && chown -R postgres:postgres /data && chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  runuser -u postgres -- initdb -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  printf "CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;\n" \
    "$ADDON_USER" "$ADDON_PASSWORD" "$ADDON_USER" "$ADDON_USER" \
    | runuser -u postgres -- postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' \
  -c max_connections="$ADDON_CONNECTIONS" -c shared_buffers="$ADDON_SHARED_BUFFERS" \
  -c unix_socket_directories=/tmp
"""

REDIS_SCRIPT = r"""
set -eu
mkdir -p /data/redis && chown -R redis:redis /data
umask 077
printf 'requirepass %s\n' "$ADDON_PASSWORD" > /tmp/redis.conf
chown redis /tmp/redis.conf
aof=yes
if [ -f /data/redis/restore.rdb ]; then  # a restore: load the RDB (the platform turns
  rm -rf /data/redis/appendonlydir       # the append-only file on again once it runs)
  mv /data/redis/restore.rdb /data/redis/dump.rdb
  aof=no
fi
exec runuser -u redis -- redis-server /tmp/redis.conf --bind 0.0.0.0 --port 6379 \
  --protected-mode no --dir /data/redis --appendonly "$aof" --daemonize no \
  --maxmemory "$ADDON_MAXMEMORY" --maxclients "$ADDON_CONNECTIONS"
"""


def start_script(addon: Addon) -> str:
    """The bash script that sets up the server's data the first time and runs it; it
    reads ADDON_PASSWORD and deis.domain.addons.server_settings from the environment."""
    return REDIS_SCRIPT if addon.service == "redis" else POSTGRES_SCRIPT

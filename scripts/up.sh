#!/usr/bin/env bash
# `make up`: start the platform (deisctl up), make sure it has an administrator, and say
# how to log in with the `deis` client. Idempotent: run it again and it only reports.
#
#   scripts/up.sh [deisctl up flags...]     e.g. scripts/up.sh --api-port 8001
# Environment: STATE_DIR (default ~/.deis-platform), ADMIN_USERNAME (default admin),
# ADMIN_EMAIL (default admin@example.com).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR="${STATE_DIR:-$HOME/.deis-platform}"
ADMIN_USERNAME="${ADMIN_USERNAME:-admin}"
ADMIN_EMAIL="${ADMIN_EMAIL:-admin@example.com}"
BIN="$PWD/.venv/bin"
PASSWORD_FILE="$STATE_DIR/admin-password"

"$BIN/deisctl" up --state-dir "$STATE_DIR" "$@"

if [ ! -s "$PASSWORD_FILE" ]; then
    password="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))')"
    if DEIS_ADMIN_PASSWORD="$password" "$BIN/deisctl" create-admin --state-dir "$STATE_DIR" \
        --username "$ADMIN_USERNAME" --email "$ADMIN_EMAIL" >/dev/null; then
        (umask 077 && printf '%s\n' "$password" >"$PASSWORD_FILE")
    else
        echo "Could not create the administrator $ADMIN_USERNAME (see above)." >&2
        echo "Make one with: $BIN/deisctl create-admin --state-dir $STATE_DIR --username NAME --email EMAIL" >&2
        exit 1
    fi
fi

url="$("$BIN/deisctl" status --state-dir "$STATE_DIR" | awk '$1 == "API:" { print $2 }')"
cat <<TEXT

The platform runs at $url (state in $STATE_DIR).
The administrator is $ADMIN_USERNAME; the password is in $PASSWORD_FILE.
Log in with the deis client:

    export PATH="$BIN:\$PATH"
    deis login $url --username=$ADMIN_USERNAME --password="\$(cat $PASSWORD_FILE)"

Stop the platform with: $BIN/deisctl down --state-dir $STATE_DIR
TEXT

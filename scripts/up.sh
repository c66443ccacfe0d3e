#!/usr/bin/env bash
# `make up`: make the stack images (once per machine), start the platform (deisctl up),
# make sure it has an administrator, log the `deis` client in, and deploy the bundled
# example app (examples/python-web) with `git push` over SSH; then print its URL.
# Idempotent: run it again and it only reports.
#
#   scripts/up.sh [deisctl up flags...]     e.g. scripts/up.sh --api-port 8001
# Environment: STATE_DIR (default ~/.deis-platform), ADMIN_USERNAME (default admin),
# ADMIN_EMAIL (default admin@example.com), EXAMPLE_APP (default example; empty: none).
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR="${STATE_DIR:-$HOME/.deis-platform}"
ADMIN_USERNAME="${ADMIN_USERNAME:-admin}"
ADMIN_EMAIL="${ADMIN_EMAIL:-admin@example.com}"
BIN="$PWD/.venv/bin"
PASSWORD_FILE="$STATE_DIR/admin-password"
EXAMPLE_APP="${EXAMPLE_APP-example}"

echo "==> stack images (the first time on a machine this takes several minutes)"
"$BIN/python" -m deis.stack build --addons  # the add-ons' too: addons:create need not wait
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
"$BIN/deis" login "$url" --username="$ADMIN_USERNAME" --password="$(cat "$PASSWORD_FILE")" >/dev/null

if [ -n "$EXAMPLE_APP" ]; then
    # The example's own key and checkout live in the state dir: ~/.ssh is left alone.
    example="$STATE_DIR/example"
    key="$example/id_ed25519"
    mkdir -p "$example"
    [ -f "$key" ] || ssh-keygen -q -t ed25519 -N "" -C "deis example" -f "$key"
    "$BIN/deis" keys:add "$key.pub" >/dev/null 2>&1 || true # already added: fine
    checkout="$example/$EXAMPLE_APP"
    if [ ! -d "$checkout/.git" ]; then
        cp -r examples/python-web "$checkout"
        git -C "$checkout" init -q
        git -C "$checkout" add -A
        git -C "$checkout" -c user.name=deis -c user.email=deis@example.com commit -qm "The example app"
    fi
    if ! "$BIN/deis" apps:info -a "$EXAMPLE_APP" >/dev/null 2>&1; then
        (cd "$checkout" && "$BIN/deis" create "$EXAMPLE_APP")
    fi
    echo "==> git push deis master (the example app, over SSH)"
    push_log="$example/push.log"
    if ! GIT_SSH_COMMAND="ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i $key" \
        git -C "$checkout" push deis master >"$push_log" 2>&1; then
        echo "!!! git push failed; what the builder said:" >&2
        grep -v -E "^(Warning: Permanently added|To ssh://)" "$push_log" >&2 || true
        echo "!!! See the app's log: $BIN/deis logs -a $EXAMPLE_APP" >&2
        exit 1
    fi
    grep -E "^remote: (----->|       Done|       http)" "$push_log" || true
    app_url="http://$("$BIN/deis" apps:info -a "$EXAMPLE_APP" -o json | "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["url"])')"
    echo "==> curl $app_url"
    answered=""
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        # -w: the status on a line of its own after the body; 000 when nothing answered
        answered="$(curl -sS -m 10 -w '\n%{http_code}' "$app_url" 2>&1)" || true
        case "${answered##*$'\n'}" in 200 | 4?? | 500) break ;; esac
        sleep 1
    done
    status="${answered##*$'\n'}"
    body="${answered%$'\n'*}"
    if [ "$status" != 200 ]; then
        echo "!!! $app_url answered ${status/#000/nothing}, not 200:" >&2
        printf '%s\n' "$body" >&2
        echo "!!! The app's last log lines ($BIN/deis logs -a $EXAMPLE_APP):" >&2
        "$BIN/deis" logs -a "$EXAMPLE_APP" --lines 20 >&2 || true
        exit 1
    fi
    printf '%s\n' "$body"
fi
cat <<TEXT

The platform runs at $url (state in $STATE_DIR).
${EXAMPLE_APP:+The example app answers at ${app_url:-}; its checkout is $STATE_DIR/example/$EXAMPLE_APP.
}The administrator is $ADMIN_USERNAME; the password is in $PASSWORD_FILE.
The deis client is logged in; elsewhere:

    export PATH="$BIN:\$PATH"
    deis login $url --username=$ADMIN_USERNAME --password="\$(cat $PASSWORD_FILE)"

Stop the platform with: $BIN/deisctl down --state-dir $STATE_DIR
TEXT

#!/bin/bash
# The slugrunner's entrypoint. SLUG_URL is the slug (a gzipped tarball of /app): an
# http(s) URL, or s3://BUCKET/KEY read with the object store's keys mounted at
# /var/run/secrets/deis/objectstore (see slugfetch.py).
#   slugrunner --fetch    unpack the slug into /app and stop (the pod's init container)
#   slugrunner COMMAND    unpack it unless an init container did, source
#                         /app/.profile.d/*.sh, and run COMMAND with bash
set -euo pipefail
usage() {  # the comment at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}
MARK=/app/.slug-fetched

fetch() {
  if [ -z "${SLUG_URL:-}" ]; then echo "slugrunner: SLUG_URL is not set" >&2; exit 2; fi
  python3 /usr/local/lib/deis/slugfetch.py "$SLUG_URL" | tar -xz -C /app
  : > "$MARK"
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --version) echo "slugrunner 1 (stack ${STACK:-unknown})"; exit 0 ;;
  --fetch) fetch; exit 0 ;;
esac
if [ $# -ne 1 ]; then echo "slugrunner: give one command" >&2; exit 2; fi
[ -e "$MARK" ] || fetch
export HOME=/app
cd /app
for script in /app/.profile.d/*.sh; do
  # shellcheck disable=SC1090
  [ -f "$script" ] && . "$script"
done
exec bash -c "$1"

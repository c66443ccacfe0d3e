#!/bin/bash
# The slugrunner's entrypoint: fetch the slug at SLUG_URL (http or https), unpack it into
# /app, source /app/.profile.d/*.sh, and run the one argument, a process command, with bash.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    echo "usage: slugrunner COMMAND   (SLUG_URL: the slug, a gzipped tarball of /app)"
    exit 0 ;;
  --version) echo "slugrunner 1 (stack ${STACK:-unknown})"; exit 0 ;;
esac
if [ -z "${SLUG_URL:-}" ]; then echo "slugrunner: SLUG_URL is not set" >&2; exit 2; fi
if [ $# -ne 1 ]; then echo "slugrunner: give one command" >&2; exit 2; fi
python3 -c '
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as response:
    shutil.copyfileobj(response, sys.stdout.buffer, 1 << 20)
' "$SLUG_URL" | tar -xz -C /app
export HOME=/app
cd /app
for script in /app/.profile.d/*.sh; do
  # shellcheck disable=SC1090
  [ -f "$script" ] && . "$script"
done
exec bash -c "$1"

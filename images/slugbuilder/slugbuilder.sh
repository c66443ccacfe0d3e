#!/bin/bash
# The slugbuilder's entrypoint, in a build pod. It talks to nothing but the URLs it is given
# (presigned: no object store credentials in the pod):
#   SOURCE_URL     GET: the app's source, a gzipped tarball
#   SLUG_URL       PUT: where the slug (a gzipped tarball of /app) goes
#   RESULT_URL     PUT: where the last buildpack's bin/release output goes (optional)
#   CACHE_URL      GET: the app's build cache from the last build (optional, may be missing)
#   CACHE_PUT_URL  PUT: where the build cache goes afterwards (optional)
#   DEIS_BUILDPACKS, DEIS_EXPLICIT: as runner.sh takes them
#   DEIS_BUILDPACK_GIT: "N=URL#REF ..." buildpacks to clone into /tmp/buildpacks/custom-N
# The config is in /tmp/env (a Secret volume), one file per variable.
# Exit statuses: runner.sh's (3 no buildpack, 4 compile, 5 release, 6 hook), 10 the source
# could not be fetched, 11 the slug could not be stored, 12 a buildpack could not be fetched.
set -uo pipefail

usage() {  # the comment at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}
case "${1:-}" in
  -h|--help) echo "slugbuilder: builds a slug with buildpacks in a build pod"; usage; exit 0 ;;
  --version) echo "slugbuilder 1 (stack ${STACK:-unknown})"; exit 0 ;;
esac
for var in SOURCE_URL SLUG_URL; do
  if [ -z "${!var:-}" ]; then echo "slugbuilder: $var is not set" >&2; exit 2; fi
done

fetch() { curl --fail --silent --show-error --location --retry 3 --max-time 900 "$1"; }
store() { curl --fail --silent --show-error --retry 3 --max-time 900 -T "$1" "$2" >/dev/null; }

if ! fetch "$SOURCE_URL" | tar -xz -C /app; then
  echo "-----> Cannot fetch the source" >&2
  exit 10
fi
if [ -n "${CACHE_URL:-}" ]; then
  fetch "$CACHE_URL" 2>/dev/null | tar -xz -C /tmp/cache 2>/dev/null || true
fi
for entry in ${DEIS_BUILDPACK_GIT:-}; do
  n=${entry%%=*}; spec=${entry#*=}; url=${spec%%#*}; ref=""
  [ "$spec" != "$url" ] && ref=${spec#*#}
  echo "-----> Fetching buildpack $spec"
  dest=/tmp/buildpacks/custom-$n
  if [ -n "$ref" ]; then
    git clone --quiet --depth 1 --branch "$ref" "$url" "$dest" 2>/dev/null \
      || { git clone --quiet "$url" "$dest" && git -C "$dest" checkout --quiet "$ref"; } \
      || exit 12
  else
    git clone --quiet --depth 1 "$url" "$dest" || exit 12
  fi
done

bash /opt/deis/buildpacks/runner.sh
status=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi

if ! store /tmp/out/slug.tgz "$SLUG_URL"; then
  echo "-----> Cannot store the slug" >&2
  exit 11
fi
if [ -n "${RESULT_URL:-}" ] && [ -f /tmp/out/release.yml ]; then
  store /tmp/out/release.yml "$RESULT_URL" || exit 11
fi
if [ -n "${CACHE_PUT_URL:-}" ]; then
  tar -C /tmp/cache -czf /tmp/out/cache.tgz . && store /tmp/out/cache.tgz "$CACHE_PUT_URL" \
    || echo "       (the build cache was not kept)"
fi

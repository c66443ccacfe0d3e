#!/bin/bash
# Runs inside a build-stack container. Mounts: /app (the app, BUILD_DIR), /tmp/cache (the
# app's cache), /tmp/env (config as files, ENV_DIR), /tmp/buildpacks (buildpacks), /tmp/out.
# DEIS_BUILDPACKS: space-separated buildpack folders. DEIS_EXPLICIT=1: run them all
# (BUILDPACK_URL or .buildpacks); else the first whose bin/detect succeeds.
# Exit statuses: 0 built; 3 no buildpack detected; 4 compile failed; 5 release failed;
# 6 a pre/post compile hook failed; 7 no process types (found before compiling).
set -uo pipefail

BUILD_DIR=/app
CACHE_DIR=/tmp/cache
ENV_DIR=/tmp/env
OUT=/tmp/out
export BUILD_DIR CACHE_DIR ENV_DIR PYTHONUNBUFFERED=1

# Config as environment for the build (Deis does this), except what would break it.
if [ -d "$ENV_DIR" ]; then
  for f in "$ENV_DIR"/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    case "$name" in
      PATH|GIT_DIR|CPATH|CPPATH|LD_PRELOAD|LIBRARY_PATH|LD_LIBRARY_PATH|HOME|BUILD_DIR|CACHE_DIR|ENV_DIR) continue ;;
    esac
    if [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      export "$name=$(cat "$f")"
    fi
  done
fi

run_bin() {  # run a buildpack program: directly when executable, else with bash
  local prog=$1; shift
  if [ -x "$prog" ]; then "$prog" "$@"; else bash "$prog" "$@"; fi
}

read -r -a packs <<< "${DEIS_BUILDPACKS:-}"
selected=()
names=()
if [ "${DEIS_EXPLICIT:-0}" = 1 ]; then
  for bp in "${packs[@]}"; do
    if [ ! -e "$bp/bin/compile" ]; then
      echo "-----> $(basename "$bp") is not a buildpack: it has no bin/compile" >&2
      exit 4
    fi
    if name=$(run_bin "$bp/bin/detect" "$BUILD_DIR" 2>/dev/null); then :; else name=$(basename "$bp"); fi
    selected+=("$bp"); names+=("${name:-$(basename "$bp")}")
  done
else
  for bp in "${packs[@]}"; do
    if name=$(run_bin "$bp/bin/detect" "$BUILD_DIR" 2>/dev/null); then
      selected+=("$bp"); names+=("${name:-$(basename "$bp")}")
      break
    fi
  done
fi
if [ ${#selected[@]} -eq 0 ]; then
  exit 3
fi

for i in "${!selected[@]}"; do
  echo "-----> ${names[$i]} app detected"
done

# No process types, found before the dependency install rather than after it: with no
# type in the Procfile, a built-in buildpack whose default types come from the source
# alone (python: none; nodejs: a start script or server.js; static: always) must give one.
# go's come from what it builds, and other buildpacks' may too: those are not checked here.
last=${selected[${#selected[@]}-1]}
if ! grep -qsE '^[[:space:]]*[A-Za-z0-9_-]+[[:space:]]*:' "$BUILD_DIR/Procfile"; then
  case "$last" in
    */builtin/python|*/builtin/nodejs|*/builtin/static)
      defaults=$(run_bin "$last/bin/release" "$BUILD_DIR" 2>/dev/null || true)
      if ! grep -q '^default_process_types:' <<< "$defaults"; then exit 7; fi ;;
  esac
fi

cd "$BUILD_DIR"
if [ -f bin/pre_compile ]; then
  echo "-----> Running pre-compile hook"
  if ! run_bin bin/pre_compile 2>&1 | sed -u 's/^/       /'; then exit 6; fi
fi

for i in "${!selected[@]}"; do
  bp=${selected[$i]}
  cd "$BUILD_DIR"
  if ! run_bin "$bp/bin/compile" "$BUILD_DIR" "$CACHE_DIR" "$ENV_DIR" 2>&1; then
    echo "-----> ${names[$i]} buildpack failed to compile the app" >&2
    exit 4
  fi
  # What one buildpack exports, the next one sees (multi-buildpack convention).
  if [ -f "$bp/export" ]; then
    # shellcheck disable=SC1091
    . "$bp/export"
  fi
done

cd "$BUILD_DIR"
if [ -f bin/post_compile ]; then
  echo "-----> Running post-compile hook"
  if ! run_bin bin/post_compile 2>&1 | sed -u 's/^/       /'; then exit 6; fi
fi

if [ -e "$last/bin/release" ]; then
  if ! run_bin "$last/bin/release" "$BUILD_DIR" > "$OUT/release.yml"; then
    echo "-----> The buildpack's bin/release failed" >&2
    exit 5
  fi
fi
printf '%s\n' "${names[@]}" > "$OUT/buildpacks.txt"

echo "-----> Compressing..."
tar --numeric-owner --exclude=./.git -C "$BUILD_DIR" --use-compress-program="gzip -1" -cf "$OUT/slug.tgz" .
echo "       done, $(du -h "$OUT/slug.tgz" | cut -f1)"

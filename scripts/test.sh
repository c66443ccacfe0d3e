#!/usr/bin/env bash
# The whole test run, as CI does it (`make test`, `.ci/run`):
#   1. install what is missing (Debian packages, the virtualenv),
#   2. lint: ruff check, ruff format --check, mypy, lint-imports,
#   3. stop and remove platforms that killed earlier test runs left under $TMPDIR/deis-test-*,
#   4. start PostgreSQL (scripts/postgres-test-setup.sh) and export DEIS_TEST_DATABASE_URL,
#   5. pytest -n 2 over tests/ (exit 5, "no tests ran", is a failure).
# Every step runs even when an earlier one failed; the exit code says whether all passed.
#
# Environment: PYTEST_ARGS adds pytest arguments (e.g. PYTEST_ARGS="-k deisctl");
# SKIP_LINT=1 skips step 2; SKIP_POSTGRES=1 skips step 4 (the PostgreSQL tests then skip).
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
say() { printf '\n==> %s\n' "$*"; }
step() {
    local name="$1"
    shift
    say "$name"
    if ! "$@"; then
        failed+=("$name")
        printf '!!! %s failed\n' "$name"
    fi
}

say "install"
if ! scripts/install.sh; then
    echo "!!! installing failed: cannot test" >&2
    exit 1
fi
VENV_BIN="$PWD/.venv/bin"
export PATH="$VENV_BIN:$PATH"

if [ "${SKIP_LINT:-0}" != 1 ]; then
    step "ruff check" "$VENV_BIN/ruff" check .
    step "ruff format --check" "$VENV_BIN/ruff" format --check .
    step "mypy" "$VENV_BIN/mypy"
    step "lint-imports" "$VENV_BIN/lint-imports"
fi

step "clean leftovers of earlier runs" "$VENV_BIN/python" scripts/clean-test-leftovers.py

if [ "${SKIP_POSTGRES:-0}" != 1 ]; then
    say "PostgreSQL"
    if pg_out="$(sh scripts/postgres-test-setup.sh)"; then
        # The script prints `export DEIS_TEST_DATABASE_URL=URL` (or just the URL).
        url="$(printf '%s\n' "$pg_out" | sed -n 's/^\(export \)\{0,1\}DEIS_TEST_DATABASE_URL=//p' | tail -1)"
        [ -n "$url" ] || url="$(printf '%s\n' "$pg_out" | grep -E '^postgres(ql)?://' | tail -1)"
        if [ -n "$url" ]; then
            export DEIS_TEST_DATABASE_URL="${url//\"/}"
            echo "DEIS_TEST_DATABASE_URL=${DEIS_TEST_DATABASE_URL%%:*}://..."
        else
            failed+=("PostgreSQL (no URL in: $pg_out)")
        fi
    else
        failed+=("PostgreSQL")
        echo "!!! PostgreSQL did not start: its tests will be skipped" >&2
    fi
fi

say "pytest"
# shellcheck disable=SC2086 # PYTEST_ARGS is a list of words
"$VENV_BIN/python" -m pytest -n 2 -q --durations=30 tests ${PYTEST_ARGS:-}
rc=$?
case "$rc" in
    0) ;;
    5) failed+=("pytest (no tests ran)") ;;
    *) failed+=("pytest (exit $rc)") ;;
esac

echo
if [ "${#failed[@]}" -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "All checks passed."

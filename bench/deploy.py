"""Benchmark of the builder: a first build and a rebuild of each sample app, pushed with
real git over SSH.

    .venv/bin/python bench/deploy.py [--apps python-web,node-web,...] [--show-output]

1. makes the stack images if this machine has none yet (`python -m deis.stack build`);
2. starts the builder in-process (a fresh state dir, SQLite, the record runtime) on a
   free port, registers a user with a fresh ed25519 key and creates one app per sample;
3. for each sample: `git push` of examples/<name> (first build: empty cache), then an
   empty commit and `git push` again (rebuild: the app's build cache is warm); each
   output line is time-stamped, so the slow steps show;
4. stops the builder and removes the state dir.

Results go to bench/results/deploy.json; a table is printed. Never a timed assertion.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

SAMPLES = ("python-web", "node-web", "go-web", "static", "dockerfile-web")
PUSH_TIMEOUT = 1800


def timed_push(pusher, src: Path, app: str) -> tuple[int, float, list[tuple[float, str]]]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - an argument list
        ["git", "push", "--progress", pusher.ssh_url(app), "HEAD:master"],
        cwd=src,
        env=pusher.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[tuple[float, str]] = []
    for line in proc.stderr:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    rc = proc.wait(timeout=PUSH_TIMEOUT)
    return rc, time.monotonic() - started, lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", default=",".join(SAMPLES))
    parser.add_argument("--show-output", action="store_true")
    args = parser.parse_args()

    from deis.stack.build import ensure

    stack_started = time.monotonic()
    ensure()
    stack_seconds = time.monotonic() - stack_started

    import pytest  # noqa: F401 - the test helpers import it
    from tests.builder import conftest as helpers

    tmp = Path(tempfile.mkdtemp(prefix="deis-bench-deploy-"))
    results: list[dict[str, object]] = []
    try:
        gen = helpers.platform.__wrapped__(tmp)  # type: ignore[attr-defined]
        platform = next(gen)
        try:
            alice = platform.user("alice")
            for name in args.apps.split(","):
                app = platform.create_app("alice", f"bench-{name}")
                src = helpers.source_tree(platform.tmp, helpers.EXAMPLES / name, alice)
                rc1, first, out1 = timed_push(alice, src, app)
                helpers.commit(alice, src, "rebuild")
                rc2, again, out2 = timed_push(alice, src, app)
                if args.show_output:
                    for label, out in (("first", out1), ("rebuild", out2)):
                        print(f"--- {name} {label}")
                        for at, line in out:
                            print(f"{at:7.2f}s {line}")
                results.append(
                    {
                        "app": name,
                        "first_build_s": round(first, 2),
                        "rebuild_s": round(again, 2),
                        "ok": rc1 == 0 and rc2 == 0,
                    }
                )
        finally:
            with_exit = next(gen, None)
            assert with_exit is None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cores": os.cpu_count()},
        "stack_ensure_s": round(stack_seconds, 2),
        "results": results,
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "deploy.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'app':<16}{'first build':>14}{'rebuild':>10}  ok")
    for row in results:
        print(f"{row['app']:<16}{row['first_build_s']:>13}s{row['rebuild_s']:>9}s  {row['ok']}")
    return 0 if all(row["ok"] for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())

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

Then, unless --no-serve, the figure the issue asks for with every real part: `deisctl up`
(podman runtime, nginx router, git builder) in a temporary state dir, `deis register`,
`keys:add`, `create`, `git push deis master` of examples/python-web (Flask and
gunicorn), timed until the router answers with the new release; then a one-line change
of app.py pushed and timed the same way; `deisctl down --purge`.

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


def served_python_web() -> dict[str, object]:
    """Seconds from `git push` to the router answering with the new release, on the real
    platform: the first build and a rebuild after a one-line change."""
    import secrets

    from tests.e2e.test_first_deploy import BIN, ROOT, Deployment, free_port

    root = Path(tempfile.mkdtemp(prefix="deis-bench-serve-"))
    home, state, app_dir = root / "home", root / "state", root / "app"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(home), "DEIS_PROFILE": "bench",
        "GIT_SSH_COMMAND": "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        f" -o IdentitiesOnly=yes -i {key}",
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    }  # fmt: skip
    shutil.copytree(ROOT / "examples" / "python-web", app_dir)
    d = Deployment(home, state, app_dir, env, free_port(), free_port())
    try:
        d.run(
            str(BIN / "deisctl"), "up", "--state-dir", str(state),
            "--api-port", str(d.api_port), "--ssh-port", str(free_port()),
            "--router-port", str(d.router_port), "--router-https-port", str(free_port()),
            "--registry-port", str(free_port()),
            "--runtime", "podman", "--router", "nginx", "--builder", "git", timeout=300,
        )  # fmt: skip
        d.deis("register", f"http://127.0.0.1:{d.api_port}", "--username", "bench",
               "--password", "bench-pw", "--email", "bench@example.com")  # fmt: skip
        d.deis("keys:add", str(key) + ".pub")
        app = f"bench-{secrets.token_hex(3)}"
        d.run("git", "init", "-q")
        d.run("git", "add", "-A")
        d.run("git", "commit", "-qm", "first")
        d.deis("create", app)

        def push_until_served(text: str) -> float:
            started = time.monotonic()
            d.run("git", "push", "deis", "master", timeout=PUSH_TIMEOUT)
            while text not in d.curl(app)[1]:
                if time.monotonic() - started > PUSH_TIMEOUT:
                    raise RuntimeError(f"{app} never answered {text!r}")
                time.sleep(0.05)
            return time.monotonic() - started

        first = push_until_served("Hello from python-web")
        source = app_dir / "app.py"
        source.write_text(source.read_text().replace("Hello from", "Hello again from"))
        d.run("git", "commit", "-qam", "one line")
        again = push_until_served("Hello again from python-web")
        return {"app": "python-web", "first_build_s": round(first, 2), "rebuild_s": round(again, 2)}
    finally:
        d.run(str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", default=",".join(SAMPLES))
    parser.add_argument("--show-output", action="store_true")
    parser.add_argument("--no-serve", action="store_true", help="skip the real-platform run")
    args = parser.parse_args()

    from deis.stack.build import ensure

    stack_started = time.monotonic()
    ensure()
    stack_seconds = time.monotonic() - stack_started

    import pytest  # noqa: F401 - the test helpers import it
    from tests.builder import conftest as helpers

    tmp = Path(tempfile.mkdtemp(prefix="deis-bench-deploy-"))
    results: list[dict[str, object]] = []
    registries = helpers.registry.__wrapped__()  # type: ignore[attr-defined]
    try:
        gen = helpers.platform.__wrapped__(tmp, next(registries))  # type: ignore[attr-defined]
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
        registries.close()  # stops the registry
        shutil.rmtree(tmp, ignore_errors=True)
    served = None if args.no_serve else served_python_web()
    report = {
        "served": served,
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
    if served is not None:
        print(
            f"git push to serving, python-web on podman + nginx: first build"
            f" {served['first_build_s']} s, one-line change {served['rebuild_s']} s"
            " (targets: rebuild < 3 s; first < 15 s beyond pip's downloads)"
        )
    return 0 if all(row["ok"] for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Real apps on their bad days (issue 18), end to end with every real part (`deisctl up`:
podman runtime, nginx router, git builder): a Node app that only has `"start": "node
index.js"`, and the mistakes users make with the daily commands."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platforms import registered_platform
from tests.e2e.test_first_deploy import BIN, Deployment

pytestmark = pytest.mark.e2e

EXPRESS_LIKE = {
    "package.json": json.dumps(
        {
            "name": "hello-node",
            "version": "1.0.0",
            "private": True,
            "scripts": {
                "start": "node index.js",
                "greet": "node -e \"console.log('hi from npm run')\"",
            },
        },
        indent=2,
    ),
    "index.js": (
        "const http = require('http');\n"
        "const port = process.env.PORT || 3000;\n"
        "http.createServer((req, res) => {\n"
        "  res.end(`Hello from node ${process.version} on ${req.url}\\n`);\n"
        "}).listen(port, () => console.log(`listening on ${port}`));\n"
    ),
}


class Platform(Deployment):
    def in_dir(self, work: Path, *args: str, timeout: float = 600, check: bool = True) -> str:
        done = subprocess.run(  # noqa: S603 - an argument list
            list(args), cwd=work, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout + done.stderr

    def new_app(self, files: dict[str, str], prefix: str = "bad") -> tuple[str, Path]:
        """An app and a committed work tree with its `deis` remote."""
        app = f"{prefix}-{secrets.token_hex(3)}"
        work = self.home.parent / app
        work.mkdir()
        for name, text in files.items():
            (work / name).write_text(text)
        for args in (("init", "-q", "-b", "master"), ("add", "-A"), ("commit", "-qm", "first")):
            self.in_dir(work, "git", *args)
        self.in_dir(work, str(BIN / "deis"), "create", app)
        return app, work

    def fails(self, *args: str) -> str:
        """`deis ARGS`, which must exit 1: what it printed on stderr."""
        done = subprocess.run(  # noqa: S603 - an argument list
            [str(BIN / "deis"), *args], cwd=self.app_dir, env=self.env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 1, f"exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stderr

    def push(self, work: Path, check: bool = True) -> str:
        return self.in_dir(work, "git", "push", "deis", "master", check=check)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with registered_platform("baddays", Platform) as started:
        yield started


def test_a_node_app_with_only_a_start_script_runs_with_npm_start(platform: Platform) -> None:
    app, work = platform.new_app(EXPRESS_LIKE, "node")
    pushed = platform.push(work)
    print(pushed)
    assert "-----> Node.js app detected" in pushed
    assert "Default types for buildpack -> web" in pushed
    assert f"Done, {app}:v2 deployed" in pushed, pushed
    status, body = platform.curl(app)
    assert status == 200 and body.startswith("Hello from node v18."), (status, body)
    logs = platform.deis("logs", "-a", app)
    assert "> node index.js" in logs and "listening on 5000" in logs  # through `npm start`
    ran = platform.deis("run", "-a", app, "npm run greet && npx --version && which npm")
    assert "hi from npm run" in ran
    assert "/app/.heroku/node/bin/npm" in ran


def test_restarting_a_type_the_app_does_not_have_fails(platform: Platform) -> None:
    app, work = platform.new_app(EXPRESS_LIKE, "restart")
    platform.push(work)
    refused = platform.fails("ps:restart", "foo", "-a", app)
    assert refused == "Error: Container type foo does not exist in application (it has: web).\n"
    logs = platform.deis("logs", "-a", app)
    assert "restarted foo" not in logs
    restarted = platform.deis("ps:restart", "web", "-a", app)
    assert restarted.count(f"{app}-web-") == 1


SICK_ON_REQUEST = {
    **EXPRESS_LIKE,
    "index.js": (
        "const http = require('http');\n"
        "let sick = false;\n"
        "http.createServer((req, res) => {\n"
        "  if (req.url === '/fall-ill') { sick = true; return res.end('falling ill\\n'); }\n"
        "  if (req.url === '/healthz' && sick) {\n"
        "    res.statusCode = 500; return res.end('sick\\n');\n"
        "  }\n"
        "  res.end('ok\\n');\n"
        "}).listen(process.env.PORT);\n"
    ),
}


def test_a_replica_killed_by_its_liveness_probe_is_said_to_be(platform: Platform) -> None:
    app, work = platform.new_app(SICK_ON_REQUEST, "sick")
    platform.push(work)
    platform.deis(
        "healthchecks:set", "liveness", "httpGet", "5000", "--path", "/healthz", "-a", app,
        "--initial-delay-timeout", "10", "--period-seconds", "1", "--failure-threshold", "2",
        "--timeout-seconds", "3",
    )  # fmt: skip
    # Healthy through the deploy (a release whose replicas are killed while it rolls out
    # is a failed deploy); sick once asked, after it. The delay and the probe's timeout
    # leave room for a loaded machine (CI once killed a replica still starting after 1 s).
    fell_ill = platform.run(
        "curl", "-s", "-m", "10", f"http://{app}.localhost:{platform.router_port}/fall-ill"
    )
    assert "falling ill" in fell_ill
    deadline = time.monotonic() + 90
    sick = "(last: HTTP GET /healthz on port 5000 answered 500)"
    logs = ""
    while not (
        sick in logs and f"was killed for failing its liveness probe 2 times {sick}" in logs
    ):
        assert time.monotonic() < deadline, logs
        time.sleep(1)
        logs = platform.deis("logs", "-a", app)
    runtime = [line for line in logs.splitlines() if "deis[runtime]" in line]
    print("\n".join(runtime))
    assert f"failed its liveness probe 2 times {sick}: killing it" in "\n".join(runtime), logs
    killed = [line for line in runtime if " was killed " in line]
    assert killed and all("for failing its liveness probe 2 times (last: " in k for k in killed)
    assert "memory limit" not in logs


def test_pull_of_a_short_image_name_says_what_to_give(platform: Platform) -> None:
    app, _ = platform.new_app(EXPRESS_LIKE, "pull")
    refused = platform.fails("pull", "hello:1", "-a", app)
    assert refused == (
        "Error: image: hello:1 is a short name, and this platform looks up no registry for"
        " short names: give the image's full name with its registry, such as"
        " docker.io/library/hello:1 or HOST:PORT/hello:1.\n"
    )


def test_the_builders_host_key_is_shown_and_trusted_so_a_first_push_asks_nothing(
    platform: Platform,
) -> None:
    status = platform.run(str(BIN / "deisctl"), "status", "--state-dir", str(platform.state))
    print(status)
    [shown] = [line for line in status.splitlines() if line.startswith("Builder key:")]
    public = platform.state / "builder" / "ssh_host_ed25519_key.pub"
    fingerprint = subprocess.run(  # noqa: S603
        ["ssh-keygen", "-l", "-f", str(public)],
        capture_output=True, text=True, check=True,
    ).stdout.split()[1]  # fmt: skip
    assert f"Builder key:  {fingerprint} (ED25519); known_hosts line: [127.0.0.1]:" in shown

    app, work = platform.new_app(EXPRESS_LIKE, "strict")
    platform.in_dir(work, "git", "remote", "remove", "deis")  # git:remote offers the line
    created = platform.in_dir(work, str(BIN / "deis"), "git:remote", "-a", app)
    assert f"The builder's SSH host key ({fingerprint}) is not in" in created
    assert "`deis git:known-hosts` adds it" in created
    added = platform.deis("git:known-hosts")
    assert added.startswith(f"Added the builder's SSH host key ({fingerprint}) to ")
    assert shown.split("known_hosts line: ")[1] in added
    assert "is already in" in platform.deis("git:known-hosts")
    strict = dict(platform.env)  # no StrictHostKeyChecking=no: ssh's own checks, no prompt
    key = platform.home / ".ssh" / "id_ed25519"
    known = platform.home / ".ssh" / "known_hosts"  # ssh's ~ is the passwd entry's, not $HOME
    strict["GIT_SSH_COMMAND"] = (
        f"ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={known}"
        f" -o IdentitiesOnly=yes -i {key}"
    )
    done = subprocess.run(
        ["git", "push", "deis", "master"],
        cwd=work, env=strict, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Host key verification failed" not in done.stderr
    assert f"Done, {app}:v2 deployed" in done.stderr

"""`deis logs --type` and `--replica`, also with -f, against a platform started with
`deisctl up` whose replicas are real podman containers."""

from __future__ import annotations

import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.logs.live import BIN, Live, missing, platform, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

TICK = 'while true; do echo "{what} says hi"; sleep 0.2; done'
PROCFILE = {
    "web": TICK.format(what="web") + " & exec python3 -m http.server $PORT",
    "worker": TICK.format(what="worker"),
}
LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\S+)\[([^\]]+)\]: (.*)")


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    from deis.stack.build import ensure

    ensure()  # the run stack image the replicas run on (machine-wide, built once)
    with platform() as running:
        yield running


@pytest.fixture(scope="module")
def app(live: Live) -> Iterator[str]:
    name = f"logs-{secrets.token_hex(3)}"
    live.deploy(name, PROCFILE, {"web": 2, "worker": 1})
    wait_for(
        lambda: "worker says hi" in live.deis("logs", "-a", name, "-n", "500"),
        60,
        "the worker's lines in deis logs",
    )
    yield name
    live.deis("destroy", "-a", name, "--confirm", name)


def sources(text: str) -> list[tuple[str, str, str]]:
    return [m.groups() for line in text.splitlines() if (m := LINE.fullmatch(line))]  # type: ignore[misc]


def test_by_type_only_that_types_replicas_and_no_platform_events(live: Live, app: str) -> None:
    every = sources(live.deis("logs", "-a", app, "-n", "2000"))
    assert any(who == "deis" for who, _, _ in every)  # events are there without a filter
    web = sources(live.deis("logs", "-a", app, "-n", "2000", "--type", "web"))
    assert web and all(who == app and src.startswith("web.") for who, src, _ in web)
    assert {text for _, _, text in web if "says hi" in text} == {"web says hi"}
    assert len({src for _, src, _ in web}) == 2  # both web replicas


def test_by_replica_named_as_deis_ps_shows_it(live: Live, app: str) -> None:
    names = re.findall(
        rf"^({re.escape(app)}-web-\d{{8,10}}-[a-z0-9]{{5}}) ", live.deis("ps", "-a", app), re.M
    )
    assert len(names) == 2, live.deis("ps", "-a", app)
    label = "web." + names[0][len(app) + 5 :]
    one = sources(live.deis("logs", "-a", app, "-n", "500", "--replica", names[0]))
    assert one and {(who, src) for who, src, _ in one} == {(app, label)}
    refused = live.deis("logs", "-a", app, "--replica", "someone-else-1", check=False)
    assert "replica" in refused and "someone-else-1" in refused


def test_follow_with_a_type_streams_only_those_lines(live: Live, app: str) -> None:
    follower = subprocess.Popen(  # noqa: S603 - an argument list
        [str(BIN / "deis"), "logs", "-f", "-n", "1", "--type", "worker", "-a", app],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    received: list[str] = []
    reader = threading.Thread(
        target=lambda: received.extend(iter(follower.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        live.deis("config:set", "A=1", "-a", app)  # a platform event while following
        wait_for(lambda: len(received) >= 8, 60, "eight followed worker lines")
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    time.sleep(0.1)
    got = sources("".join(received))
    assert len(got) == len(received)
    assert all(who == app and src.startswith("worker.") for who, src, _ in got), received

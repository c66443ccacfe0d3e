"""Build attempts and their output through the API (extensions): listed, read by uuid or
its first 8 characters, private to who may see the app, ids checked."""

from __future__ import annotations

from datetime import UTC, datetime

from deis.domain.attempts import BuildAttempt
from tests.api.conftest import Api, User

UUID = "c7118c47-6f07-4ac2-ad2b-6c1c2adfed96"


def test_attempts_are_listed_and_read_by_whole_or_short_id(api: Api, alice: User) -> None:
    alice.create_app("shop")
    assert alice.get("/v2/apps/shop/attempts").json()["count"] == 0
    outputs = api.client.app.state.context.build_outputs  # type: ignore[attr-defined]
    attempt = BuildAttempt(UUID, "shop", "alice", datetime(2026, 11, 27, tzinfo=UTC), "d4400dd")
    outputs.start(attempt)
    outputs.write("shop", UUID, "-----> Build c7118c47 started\n !     it broke\n")
    outputs.finish(attempt.failed(datetime(2026, 11, 27, 0, 1, tzinfo=UTC), "it broke"))

    listed = alice.get("/v2/apps/shop/attempts").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "failed"
    one = alice.get("/v2/apps/shop/attempts/c7118c47").json()
    assert one["uuid"] == UUID and one["reason"] == "it broke" and one["finished"]
    log = alice.get(f"/v2/apps/shop/builds/{UUID}/log")
    assert log.headers["content-type"].startswith("text/plain")
    assert log.text.endswith(" !     it broke\n")
    assert alice.get("/v2/apps/shop/builds").json()["count"] == 0  # not a Build


def test_ids_are_checked_and_others_get_404(api: Api, alice: User, bob: User) -> None:
    alice.create_app("shop")
    bad = alice.get("/v2/apps/shop/attempts/c711")
    assert bad.status_code == 400 and "uuid" in bad.json()
    assert alice.get("/v2/apps/shop/builds/deadbeef/log").status_code == 404
    assert bob.get("/v2/apps/shop/attempts").status_code == 404
    assert bob.get(f"/v2/apps/shop/builds/{UUID}/log").status_code == 404

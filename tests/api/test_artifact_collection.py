"""Old build artefacts are collected after each release, each exactly once: a release
looks only at the releases that left the window since the last collection (the real
adapter deletes through podman and the registry in tests/e2e/test_registry.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deis.domain.artifacts import Garbage
from deis.domain.records import Build

from .conftest import Api, User


class Recorder:
    """The Artifacts port, recording what the service asks it to discard."""

    def __init__(self) -> None:
        self.discarded: list[Garbage] = []

    def fetch_image(self, image: str, credentials: dict[str, str]) -> None:
        pass

    def discard(self, garbage: Garbage) -> list[str]:
        self.discarded.append(garbage)
        return [*garbage.pulled]

    def available(self, build: Build) -> bool:
        return True

    def images(self) -> list[str]:
        return [image for garbage in self.discarded for image in garbage.pulled]

    def versions(self) -> list[int]:
        return [version for garbage in self.discarded for version in garbage.versions]


def use(api: Api, **changes: Any) -> None:
    state = api.client.app.state  # type: ignore[attr-defined]
    state.context = replace(state.context, **changes)


def test_each_old_artefact_is_discarded_once_as_it_leaves_the_window(api: Api, alice: User) -> None:
    recorder = Recorder()
    use(api, artifacts=recorder, keep_releases=3)
    alice.create_app("old")  # v1, without a build
    for n in range(1, 7):  # v2 ... v7
        body = {"image": f"x/y:{n}", "procfile": {"web": "serve"}}
        assert alice.post("/v2/apps/old/builds/", body).status_code == 201
    assert recorder.images() == ["x/y:1", "x/y:2", "x/y:3"]  # v2-v4 left the window
    assert recorder.versions() == [1, 2, 3, 4]
    response = alice.post("/v2/apps/old/config/", {"values": {"A": "1"}})  # v8, x/y:6
    assert response.status_code == 201, response.text
    assert recorder.images() == ["x/y:1", "x/y:2", "x/y:3", "x/y:4"]
    assert recorder.versions() == [1, 2, 3, 4, 5]


def test_a_new_process_looks_at_the_whole_history_once(api: Api, alice: User) -> None:
    use(api, keep_releases=2)
    alice.create_app("again")
    for n in range(1, 5):  # v2 ... v5, nothing collected: no artefacts adapter yet
        body = {"image": f"x/y:{n}", "procfile": {"web": "serve"}}
        assert alice.post("/v2/apps/again/builds/", body).status_code == 201
    recorder = Recorder()
    use(api, artifacts=recorder)
    body = {"image": "x/y:5", "procfile": {"web": "serve"}}  # v6: window v5, v6
    assert alice.post("/v2/apps/again/builds/", body).status_code == 201
    assert recorder.images() == ["x/y:1", "x/y:2", "x/y:3"]
    assert recorder.versions() == [1, 2, 3, 4]

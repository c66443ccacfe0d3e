"""Issue 17, items 3 and 9: an app cannot deploy another app's image from the platform's
registry or local store, and an image reference cannot reach podman as an option."""

from __future__ import annotations

import pytest

from deis.runtime import spec
from tests.api.conftest import Api, User


@pytest.fixture(autouse=True)
def platform_registry(api: Api) -> None:
    """The API tests run no registry: say the platform's is on 127.0.0.1:5000, as
    `deisctl up` wires it (deis.platform.wiring.registry_hosts)."""
    context = api.client.app.state.context  # type: ignore[attr-defined]
    object.__setattr__(context, "registry_hosts", ("127.0.0.1:5000",))


@pytest.mark.parametrize(
    "image",
    [
        "127.0.0.1:5000/victim:git-abc1234",  # the platform's registry
        "localhost:5000/victim:git-abc1234",
        "localhost/victim:git-abc1234",  # the local store
        "LOCALHOST/victim:git-abc1234",
        "victim:git-abc1234",  # a short name podman finds as localhost/victim
        "localhost/deis/stack-run:bookworm",  # the platform's own images too
    ],
)
def test_a_stranger_cannot_deploy_another_apps_image(alice: User, bob: User, image: str) -> None:
    alice.create_app("victim")
    bob.create_app("evil")
    refused = bob.post("/v2/apps/evil/builds/", {"image": image})
    assert refused.status_code == 403, refused.text
    assert "only the app" in refused.json()["detail"]
    assert bob.get("/v2/apps/evil/builds/").json()["count"] == 0


def test_an_app_and_an_admin_may_deploy_the_apps_own_images(
    admin: User, alice: User, bob: User
) -> None:
    alice.create_app("victim")
    own = alice.post("/v2/apps/victim/builds/", {"image": "127.0.0.1:5000/victim:git-abc1234"})
    assert own.status_code == 201, own.text
    admin.create_app("ops")
    by_admin = admin.post("/v2/apps/ops/builds/", {"image": "localhost/victim:git-abc1234"})
    assert by_admin.status_code == 201, by_admin.text
    bob.create_app("evil")
    external = bob.post("/v2/apps/evil/builds/", {"image": "registry.example.com/team/api:1.4"})
    assert external.status_code == 201, external.text
    hub = bob.post("/v2/apps/evil/builds/", {"image": "debian:bookworm"})
    assert hub.status_code == 201, hub.text


@pytest.mark.parametrize("image", ["-v", "--privileged", "--volume=/:/host"])
def test_an_image_starting_with_a_dash_is_refused(alice: User, image: str) -> None:
    alice.create_app("dash")
    refused = alice.post("/v2/apps/dash/builds/", {"image": image})
    assert refused.status_code == 400, refused.text
    assert list(refused.json()) == ["image"]


def test_podman_reads_the_image_after_double_dash() -> None:
    container = spec.ContainerSpec(
        name="a-web-1234567890-abcde",
        launch=spec.Launch(image="-x", args=("--help",)),
        env={},
        labels={},
    )
    args = spec.run_args(container, "/run/netns/ns")
    assert args[-3:] == ["--", "-x", "--help"]

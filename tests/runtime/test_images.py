"""Image pulling: which registry, plain HTTP or not, the auth file, the user's messages."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from deis.runtime.podman.images import (
    auth_file,
    auth_json,
    full_name,
    plain_http,
    pull_problem,
    registry_host,
)


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("127.0.0.1:5000/team/api:1.4", "127.0.0.1:5000"),
        ("localhost/api:git-abc1234", "localhost"),
        ("localhost:5000/api", "localhost:5000"),
        ("quay.io/team/api@sha256:" + "a" * 64, "quay.io"),
        ("debian:bookworm", "docker.io"),
        ("team/api:1.0", "docker.io"),
        ("api", "docker.io"),
    ],
)
def test_registry_host(image: str, host: str) -> None:
    assert registry_host(image) == host


@pytest.mark.parametrize(
    ("host", "plain"),
    [
        ("127.0.0.1:5000", True),
        ("localhost:5000", True),
        ("127.0.0.1", False),
        ("quay.io", False),
        ("registry.example.com:5000", False),
        ("10.0.0.1:5000", False),
    ],
)
def test_only_loopback_registries_speak_plain_http(host: str, plain: bool) -> None:
    assert plain_http(host) is plain


def test_auth_json_has_the_credentials_for_the_host_only() -> None:
    data = json.loads(auth_json("quay.io", {"username": "ci", "password": "p:w"}))
    assert list(data["auths"]) == ["quay.io"]
    assert base64.b64decode(data["auths"]["quay.io"]["auth"]) == b"ci:p:w"
    assert json.loads(auth_json("quay.io", {"username": "ci"})) == {"auths": {}}
    assert json.loads(auth_json("quay.io", {})) == {"auths": {}}


def test_auth_file_is_private_and_removed() -> None:
    with auth_file("quay.io", {"username": "ci", "password": "pw"}) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert "ci" not in path.name and "pw" not in str(path)
        directory = path.parent
    assert not directory.exists()
    with pytest.raises(RuntimeError), auth_file("quay.io", {}) as path:
        raise RuntimeError("a failed pull")
    assert not path.parent.exists()


@pytest.mark.parametrize(
    ("output", "credentials", "said"),
    [
        ("reading manifest 1.4: unauthorized: authentication required", True, "refused the credentials"),
        ("reading manifest 1.4: unauthorized: authentication required", False, "asks for credentials"),
        ("requested access to the resource is denied", True, "refused the credentials"),
        ("reading manifest 1.4 in x/team/api: manifest unknown", False, "was not found"),
        ('Get "http://127.0.0.1:9/v2/": dial tcp: connect: connection refused', False, "Cannot reach"),
        ("lookup nope.example: no such host", False, "Cannot reach"),
        ("Error: something odd happened", False, "Cannot pull x/team/api:1.4: something odd happened"),
    ],
)  # fmt: skip
def test_pull_problems_are_plain(output: str, credentials: bool, said: str) -> None:
    assert said in pull_problem("x/team/api:1.4", "x", output, credentials)


def test_a_short_name_is_explained() -> None:
    output = (
        'Error: short-name "hello:1" did not resolve to an alias and no unqualified-search'
        ' registries are defined in "/etc/containers/registries.conf"'
    )
    said = pull_problem("hello:1", "docker.io", output, False)
    assert said == (
        "hello:1 is a short name, and this platform looks up no registry for short names:"
        " give the image's full name with its registry, such as docker.io/library/hello:1"
        " or HOST:PORT/hello:1."
    )


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("debian:bookworm", "docker.io/library/debian:bookworm"),
        ("team/api", "docker.io/team/api:latest"),
        ("docker.io/team/api:1", "docker.io/team/api:1"),
        ("127.0.0.1:5000/api:git-abc1234", "127.0.0.1:5000/api:git-abc1234"),
        ("127.0.0.1:5000/api", "127.0.0.1:5000/api:latest"),
        ("localhost/api:1", "localhost/api:1"),
    ],
)
def test_full_name_as_podman_lists_it(image: str, name: str) -> None:
    assert full_name(image) == name

"""Issue 17, item 2: the platform's registry asks for credentials per app.

The whole platform (`deisctl up`: the controller with its token endpoint, the git
builder, the podman runtime, Debian's docker-registry with `auth: token`):

- without credentials, the catalog, an app's tags and an upload answer 401;
- the builder's credentials for one app (what it pushes that app's image with) cannot
  push to another app's repository, with podman or by hand;
- a user's API token pulls the apps the user may see and nothing else; an admin's
  reads the catalog;
- the runtime still pulls an image back from the registry after the local copy is gone.
"""

# The e2e fixture is imported by name (pytest finds it so), and the tests take it as a
# parameter of the same name:
# ruff: noqa: F811

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import pytest

from deis.platform.registry_auth import TokenKeys
from tests.e2e.test_registry import ROOT, Platform, platform  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


def keys(platform: Platform) -> TokenKeys:
    return TokenKeys.load_or_create(platform.state / "registry")


def token_for(platform: Platform, username: str, password: str, *scopes: str) -> httpx.Response:
    """Ask the controller's token endpoint, as podman does (the realm of the 401)."""
    challenge = httpx.get(f"http://{platform.registry}/v2/", timeout=10, trust_env=False)
    header = challenge.headers["www-authenticate"]
    realm = header.split('realm="', 1)[1].split('"', 1)[0]
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    return httpx.get(
        realm,
        params=[("service", "deis-registry"), *[("scope", s) for s in scopes]],
        headers={"Authorization": f"Basic {basic}"},
        timeout=10,
        trust_env=False,
    )


def access_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The `access` claim of the token in the answer."""
    assert response.status_code == 200, response.text
    payload = response.json()["token"].split(".")[1]
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return list(json.loads(claims)["access"])


def api_user(platform: Platform, username: str) -> str:
    """A user registered through the API; their token."""
    url = f"http://127.0.0.1:{platform.api_port}/v2/auth"
    body = {"username": username, "password": "pw-" + username, "email": f"{username}@ex.com"}
    assert httpx.post(f"{url}/register", json=body, timeout=30).status_code == 201
    login = httpx.post(
        f"{url}/login/", json={"username": username, "password": body["password"]}, timeout=30
    )
    return str(login.json()["token"])


def dockerfile_app(platform: Platform) -> tuple[str, str]:
    """An app of the admin (dev) built from a Dockerfile: (app, its image)."""
    app, work = platform.new_app(ROOT / "examples" / "dockerfile-web")
    platform.git(work, "push", "deis", "master")
    sha = platform.git(work, "rev-parse", "HEAD").strip()
    return app, f"{platform.registry}/{app}:git-{sha[:7]}"


def test_registry_answers_401_without_credentials(platform: Platform) -> None:
    app, image = dockerfile_app(platform)
    base = f"http://{platform.registry}/v2"
    for method, url in [
        ("GET", f"{base}/_catalog"),
        ("GET", f"{base}/{app}/tags/list"),
        ("POST", f"{base}/{app}/blobs/uploads/"),
    ]:
        response = httpx.request(method, url, timeout=10, trust_env=False)
        assert response.status_code == 401, (method, url, response.status_code, response.text)
        assert "Bearer realm=" in response.headers["www-authenticate"]
    # podman with no credentials cannot write a tag either
    empty = platform.state.parent / f"auth-{secrets.token_hex(3)}.json"
    empty.write_text('{"auths": {}}')
    forged = f"{platform.registry}/{app}:unauthenticated"
    platform.podman("tag", image, forged)
    pushed = platform.podman(
        "push", "--tls-verify=false", "--authfile", str(empty), forged, check=False
    )
    assert pushed.returncode != 0, "pushed a tag without credentials"
    assert "unauthenticated" not in platform.tags(app)
    assert token_for(platform, "deis-platform", "guessed").status_code == 401
    assert token_for(platform, "dev", "not-a-token").status_code == 401


def test_registry_push_credentials_of_one_app_cannot_push_to_another(
    platform: Platform,
) -> None:
    app, image = dockerfile_app(platform)
    victim, victim_image = dockerfile_app(platform)
    login = keys(platform).builder(app)

    # the token endpoint grants the app's own repository, nothing of the other one
    granted = access_of(
        token_for(platform, login["username"], login["password"],
                  f"repository:{victim}:pull,push", f"repository:{app}:pull,push")
    )  # fmt: skip
    assert granted == [{"type": "repository", "name": app, "actions": ["pull", "push"]}]

    # podman, with the app's credentials: its own repository yes, the victim's no
    auth = platform.state.parent / f"auth-{secrets.token_hex(3)}.json"
    pair = base64.b64encode(f"{login['username']}:{login['password']}".encode()).decode()
    auth.write_text(json.dumps({"auths": {platform.registry: {"auth": pair}}}))
    auth.chmod(0o600)
    forged = f"{platform.registry}/{victim}:pwned"
    platform.podman("tag", image, forged)
    refused = platform.podman("push", "--tls-verify=false", "--authfile", str(auth), forged,
                              check=False)  # fmt: skip
    assert refused.returncode != 0, "pushed into another app's repository"
    assert "pwned" not in platform.tags(victim)
    again = f"{platform.registry}/{app}:again"
    platform.podman("tag", image, again)
    platform.podman("push", "--tls-verify=false", "--authfile", str(auth), again)
    assert "again" in platform.tags(app)
    assert victim_image.rsplit(":", 1)[1] in platform.tags(victim)


def test_registry_users_pull_only_apps_they_may_see(platform: Platform) -> None:
    app, _ = dockerfile_app(platform)  # the admin's
    stranger = f"stranger{secrets.token_hex(2)}"
    token = api_user(platform, stranger)
    granted = access_of(token_for(platform, stranger, token, f"repository:{app}:pull,push"))
    assert granted == []
    assert access_of(token_for(platform, stranger, token, "registry:catalog:*")) == []
    # the same stranger, once a collaborator, may pull (never push)
    platform.deis("perms:create", stranger, "-a", app)
    granted = access_of(token_for(platform, stranger, token, f"repository:{app}:pull,push"))
    assert granted == [{"type": "repository", "name": app, "actions": ["pull"]}]

    login = httpx.post(
        f"http://127.0.0.1:{platform.api_port}/v2/auth/login/",
        json={"username": "dev", "password": "dev-pw"},
        timeout=30,
    )
    admin_token = str(login.json()["token"])
    granted = access_of(token_for(platform, "dev", admin_token, "registry:catalog:*"))
    assert granted == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    bearer = token_for(platform, "dev", admin_token, "registry:catalog:*").json()["token"]
    catalog = httpx.get(
        f"http://{platform.registry}/v2/_catalog",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
        trust_env=False,
    )
    assert catalog.status_code == 200 and app in catalog.json()["repositories"]


def test_registry_the_runtime_pulls_with_the_platform_credentials(platform: Platform) -> None:
    app, image = dockerfile_app(platform)
    platform.wait_serving(app, "Hello from dockerfile-web")
    platform.deis("scale", "cmd=0", "-a", app)
    deadline = time.monotonic() + 60
    while platform.podman("rmi", image, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the image stayed in use after scaling to 0"
        time.sleep(0.5)
    platform.deis("scale", "cmd=1", "-a", app)
    assert platform.image_here(image)
    platform.wait_serving(app, "Hello from dockerfile-web")

"""The platform's registry end to end, with every real part (`deisctl up`: podman runtime,
nginx router, git builder, Debian's docker-registry): Dockerfile builds pushed to it and
pulled back by the runtime, `deis pull` from a second registry with credentials, and the
collection of old slugs and images after each release (DEIS_KEEP_RELEASES=3)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deis.builder.buildpack import slug_key
from deis.platform.registry_auth import TokenKeys
from deis.stack import podman_conf
from tests.e2e.registries import auth_registry
from tests.e2e.test_first_deploy import BIN, NEEDED, ROOT, Deployment, free_port

pytestmark = pytest.mark.e2e

KEEP = 3


class Platform(Deployment):
    registry_port: int = 0

    def run(
        self, *args: str, timeout: float = 300, check: bool = True, cwd: Path | None = None
    ) -> str:
        done = subprocess.run(  # noqa: S603 - an argument list
            list(args), cwd=cwd or self.app_dir, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout + done.stderr

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        paths = podman_conf.paths_for(self.state, podman_conf.load_instance_id(self.state))
        done = subprocess.run(  # noqa: S603 - an argument list
            ["podman", *args],
            env={**os.environ, **paths.env()},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert not check or done.returncode == 0, done.stderr
        return done

    def image_here(self, image: str) -> bool:
        return self.podman("image", "exists", image, check=False).returncode == 0

    def bearer(self, repository: str) -> dict[str, str]:
        """The platform's own token for a repository (the registry asks for one)."""
        keys = TokenKeys.load_or_create(self.state / "registry")
        return {"Authorization": f"Bearer {keys.bearer(repository)}"}

    def tags(self, repository: str) -> list[str]:
        url = f"http://{self.registry}/v2/{repository}/tags/list"
        response = httpx.get(url, headers=self.bearer(repository), timeout=10, trust_env=False)
        if response.status_code == 404:
            return []
        return list(response.json().get("tags") or [])

    def new_app(self, files: dict[str, str] | Path) -> tuple[str, Path]:
        """An app and a committed work tree with its `deis` remote."""
        app = f"reg-{secrets.token_hex(3)}"
        work = self.home.parent / app
        if isinstance(files, Path):
            shutil.copytree(files, work)
        else:
            work.mkdir()
            for name, text in files.items():
                (work / name).write_text(text)
        self.git(work, "init", "-q", "-b", "master")
        self.git(work, "add", "-A")
        self.git(work, "commit", "-qm", "first")
        self.run(str(BIN / "deis"), "create", app, cwd=work)
        return app, work

    def git(self, work: Path, *args: str, timeout: float = 600) -> str:
        return self.run("git", *args, cwd=work, timeout=timeout)

    def commit(self, work: Path, name: str, text: str) -> str:
        (work / name).write_text(text)
        self.git(work, "add", "-A")
        self.git(work, "commit", "-qm", f"change {name}")
        return self.git(work, "rev-parse", "HEAD").strip()

    def wait_serving(self, app: str, text: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            status, body = self.curl(app)
            if status == 200 and text in body:
                return
            assert time.monotonic() < deadline, (status, body)
            time.sleep(0.3)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    missing = [tool for tool in (*NEEDED, "docker-registry") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/install.sh installs them)")
    from deis.stack.build import ensure

    ensure()
    root = Path(f"/tmp/deis-test-registry-{secrets.token_hex(4)}")
    home, state = root / "home", root / "state"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (root / "owner.pid").write_text(str(os.getpid()))
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "DEIS_PROFILE": "registry",
        "DEIS_KEEP_RELEASES": str(KEEP),
        "GIT_SSH_COMMAND": (
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            f" -o IdentitiesOnly=yes -i {key}"
        ),
        "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.com",
    }  # fmt: skip
    p = Platform(home, state, root, env, free_port(), free_port())
    p.registry_port = free_port()
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state),
        "--api-port", str(p.api_port), "--ssh-port", str(free_port()),
        "--router-port", str(p.router_port), "--router-https-port", str(free_port()),
        "--registry-port", str(p.registry_port),
        "--runtime", "podman", "--router", "nginx", "--builder", "git",
    ]  # fmt: skip
    try:
        p.run(*up, timeout=120)
        p.deis("register", f"http://127.0.0.1:{p.api_port}", "--username", "dev",
               "--password", "dev-pw", "--email", "dev@example.com")  # fmt: skip
        p.deis("keys:add", str(key) + ".pub")
        yield p
    finally:
        p.run(str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_the_registry_runs_with_the_platform(platform: Platform) -> None:
    status = platform.run(str(BIN / "deisctl"), "status", "--state-dir", str(platform.state))
    assert f"Registry:     {platform.registry} (docker-registry, pid " in status
    assert "answers /v2/" in status
    response = httpx.get(f"http://{platform.registry}/v2/", timeout=10, trust_env=False)
    assert response.status_code == 401  # it asks for a token (tests/security/test_registry_*)
    assert "docker-distribution-api-version" in response.headers
    assert (platform.state / "registry" / "config.yml").is_file()
    pid = int((platform.state / "registry" / "registry.pid").read_text())
    assert f"{platform.state}/registry/config.yml" in Path(f"/proc/{pid}/cmdline").read_text()

    os.kill(pid, signal.SIGKILL)  # supervised: started again
    deadline = time.monotonic() + 30
    while True:
        try:
            again = int((platform.state / "registry" / "registry.pid").read_text())
        except (OSError, ValueError):
            again = pid
        if (
            again != pid
            and httpx.get(f"http://{platform.registry}/v2/", timeout=5).status_code == 401
        ):
            break
        assert time.monotonic() < deadline, "the registry was not started again"
        time.sleep(0.2)


def test_dockerfile_build_goes_through_the_registry(platform: Platform) -> None:
    app, work = platform.new_app(ROOT / "examples" / "dockerfile-web")
    pushed = platform.git(work, "push", "deis", "master")
    sha = platform.git(work, "rev-parse", "HEAD").strip()
    image = f"{platform.registry}/{app}:git-{sha[:7]}"
    assert f"-----> Pushing the image to {platform.registry}" in pushed
    assert f"Done, {app}:v2 deployed" in pushed
    assert platform.tags(app) == [f"git-{sha[:7]}"]
    platform.wait_serving(app, "Hello from dockerfile-web")

    # Gone from the local store: the runtime pulls it back from the registry.
    platform.deis("scale", "cmd=0", "-a", app)
    deadline = time.monotonic() + 60  # the old replica is drained and stopped after the answer
    while platform.podman("rmi", image, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the image stayed in use after scaling to 0"
        time.sleep(0.5)
    assert not platform.image_here(image)
    platform.deis("scale", "cmd=1", "-a", app)
    assert platform.image_here(image)
    platform.wait_serving(app, "Hello from dockerfile-web")


def test_pull_with_registry_credentials(platform: Platform) -> None:
    source, work = platform.new_app(ROOT / "examples" / "dockerfile-web")
    platform.git(work, "push", "deis", "master")
    sha = platform.git(work, "rev-parse", "HEAD").strip()
    with auth_registry(platform.state.parent / "auth-registry", "ci", "s3cret-pw") as other:
        image = f"{other.address}/team/web:1.0"
        platform.podman("tag", f"{platform.registry}/{source}:git-{sha[:7]}", image)
        platform.podman("push", "-q", "--tls-verify=false", "--authfile", str(other.auth_file()), image)  # fmt: skip
        platform.podman("rmi", image)
        app = f"pull-{secrets.token_hex(3)}"
        platform.deis("create", app, "--no-remote")

        refused = platform.deis("pull", image, "-a", app, check=False)
        assert "asks for credentials" in refused and "deis registry:set" in refused

        platform.deis("registry:set", "username=ci", "password=wrong-pw", "-a", app)
        before = platform.deis("releases", "-a", app)
        refused = platform.deis("pull", image, "-a", app, check=False)
        assert f"The registry {other.address} refused the credentials" in refused
        assert "wrong-pw" not in refused
        assert platform.deis("releases", "-a", app) == before  # no build, no release

        platform.deis("registry:set", "password=s3cret-pw", "-a", app)
        platform.deis("pull", image, "--procfile", "web: perl /srv/server.pl", "-a", app)
        assert "deployed" in platform.deis("releases", "-a", app)
        platform.wait_serving(app, "Hello from dockerfile-web")
        assert platform.image_here(image)

        missing = platform.deis("pull", f"{other.address}/team/none:1.0", "-a", app, check=False)
        assert "was not found in the registry" in missing


def test_old_slugs_are_collected_but_not_a_rollback_target(platform: Platform) -> None:
    files = {"Procfile": "web: exec python3 -m http.server $PORT\n", "index.html": "one\n"}
    app, work = platform.new_app(files)
    objects = platform.state / "objects"
    shas = [platform.git(work, "rev-parse", "HEAD").strip()]
    platform.git(work, "push", "deis", "master")  # v2
    for n in (2, 3):  # v3, v4
        shas.append(platform.commit(work, "index.html", f"build {n}\n"))
        platform.git(work, "push", "deis", "master")
    slugs = [objects / slug_key(app, sha) for sha in shas]
    assert all(path.is_file() for path in slugs)

    platform.deis("rollback", "v2", "-a", app)  # v5 runs the first build again
    shas.append(platform.commit(work, "index.html", "build 4\n"))
    platform.git(work, "push", "deis", "master")  # v6: the window is v4, v5, v6
    slugs.append(objects / slug_key(app, shas[-1]))
    assert slugs[0].is_file(), "the rollback target in the window keeps its slug"
    assert not slugs[1].exists(), "the second build is needed by no release in the window"
    assert slugs[2].is_file() and slugs[3].is_file()
    assert "old build artefacts (kept those of the last 3 releases)" in platform.deis(
        "logs", "-a", app
    )
    platform.wait_serving(app, "build 4")
    extracted = platform.state / "runtime" / "slugs" / app
    assert not (extracted / "v2").exists() and not (extracted / "v3").exists()
    assert (extracted / "v6").is_dir()

    before = platform.deis("releases", "-a", app)
    refused = platform.deis("rollback", "v3", "-a", app, check=False)
    assert "Cannot roll back to v3: its build was removed" in refused
    assert platform.deis("releases", "-a", app) == before
    assert "v7" in platform.deis("rollback", "v5", "-a", app)  # v5's build (the first) is kept
    platform.wait_serving(app, "one")


def test_old_images_are_collected_from_the_registry_and_locally(platform: Platform) -> None:
    server = (ROOT / "examples" / "dockerfile-web" / "server.pl").read_text()
    dockerfile = 'FROM debian:bookworm\nCOPY . /srv/\nEXPOSE 8080\nCMD ["perl", "/srv/server.pl"]\n'
    app, work = platform.new_app({"Dockerfile": dockerfile, "server.pl": server})
    tags = []
    for n in range(KEEP + 1):  # v2 .. v5: the first build falls out of the window
        if n:
            platform.commit(work, "note.txt", f"{n}\n")
        platform.git(work, "push", "deis", "master")
        tags.append("git-" + platform.git(work, "rev-parse", "HEAD").strip()[:7])
    assert sorted(platform.tags(app)) == sorted(tags[1:])
    assert not platform.image_here(f"{platform.registry}/{app}:{tags[0]}")
    for tag in tags[1:]:
        assert platform.image_here(f"{platform.registry}/{app}:{tag}")
    platform.wait_serving(app, "Hello from dockerfile-web")

    platform.deis("destroy", "-a", app, "--confirm", app)  # its images go with it
    assert platform.tags(app) == []
    for tag in tags:
        assert not platform.image_here(f"{platform.registry}/{app}:{tag}")

"""`git push` (real git over SSH, the real builder and pipeline) with builds as pods: the
build pod's log reaches the pusher's terminal while the pod runs, and the slug the pod
wrote is the one released. The test plays the kubelet and the slugbuilder, as in
test_builds.py."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from deis.builder.buildpack import slug_key
from deis.objects.s3 import S3Objects
from tests.builder.conftest import Platform, platform, registry, source_tree  # noqa: F401 - fixtures

from ..objects.conftest import s3_endpoint, s3_store  # noqa: F401 - fixtures
from .test_builds import NO_LOGS, Env, PlayedKubelet, env, fetch, tgz, untgz, upload  # noqa: F401

# the test writes the build pod's log on the fake: its real variant (env) is skipped too
pytestmark = pytest.mark.skipif(
    bool(__import__("os").environ.get("DEIS_TEST_KUBECONFIG")), reason=NO_LOGS
)


def test_git_push_streams_the_build_pod(platform: Platform, env: Env, tmp_path: Path) -> None:  # noqa: F811
    builds = env.builds()
    pipeline = platform.builder.pipeline
    pipeline.objects = platform.builder.objects = env.objects
    pipeline.run_buildpacks = builds.run_buildpacks
    pipeline.build_image = builds.build_image
    slug = tgz({"./app.py": b"print('compiled')\n", "./Procfile": b"web: python app.py\n"})
    shown = threading.Event()  # the pusher's terminal has shown the pod's line

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        given = k.env_of(pod)
        assert untgz(fetch(given["SOURCE_URL"]))["app.py"] == b"print('hello')\n"
        k.running(pod)
        assert env.fake is not None
        env.fake.append_log(env.namespace, pod["metadata"]["name"], "-----> Python app detected")
        assert shown.wait(30), "the line did not reach git push while the pod ran"
        upload(given["SLUG_URL"], slug)
        k.exit(pod, 0)

    kubelet = PlayedKubelet(env, act).start()
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(
        platform.tmp, {"app.py": "print('hello')\n", "Procfile": "web: python app.py\n"}, alice
    )
    push = subprocess.Popen(  # noqa: S603 - an argument list
        ["git", "push", alice.ssh_url(app), "HEAD:master"],
        cwd=src,
        env=alice.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert push.stderr is not None
    output = []
    for line in push.stderr:
        output.append(line)
        if "remote: -----> Python app detected" in line:
            shown.set()
    assert push.wait(60) == 0, "".join(output)
    kubelet.thread.join(10)
    assert kubelet.error is None, kubelet.error
    text = "".join(output)
    assert f"Done, {app}:v2 deployed to Deis" in text
    sha = alice.git(src, "rev-parse", "HEAD").stdout.strip()
    assert platform.builds(app)[0].image == slug_key(app, sha)
    assert env.objects.get(slug_key(app, sha)) == slug
    assert isinstance(env.objects, S3Objects)
    assert env.kube.list("v1", "Pod", env.namespace) == []

"""End-to-end builds: real `git push` over SSH and HTTP into the builder, buildpacks and
Dockerfiles built with podman on the stack images, releases recorded through the services."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from deis.builder.buildpack import slug_key
from deis.builder.podman import podman_args, podman_env
from deis.services import config as config_service
from tests.builder.conftest import EXAMPLES, Platform, Pusher, can_build, commit, source_tree

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(can_build() is not None, reason=str(can_build())),
    pytest.mark.usefixtures("stack_images"),
]


def head(pusher: Pusher, src: Path) -> str:
    return pusher.git(src, "rev-parse", "HEAD").stdout.strip()


def deployed(
    platform: Platform, app: str, done: subprocess.CompletedProcess[str], version: int
) -> None:
    assert done.returncode == 0, done.stderr
    assert f"Done, {app}:v{version} deployed to Deis" in done.stderr
    assert f"http://{app}.localhost:8080" in done.stderr
    assert platform.releases(app)[0].version == version
    assert platform.no_locks_held(app)


def desired(platform: Platform, app: str) -> dict[str, object]:
    path = platform.config.state_dir / "runtime" / "desired" / f"{app}.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def failed(platform: Platform, app: str, done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stderr
    assert [r.version for r in platform.releases(app)] == [1]
    assert platform.builds(app) == []
    assert platform.no_locks_held(app)
    assert not list(platform.config.work.iterdir())
    return done.stderr


def custom_buildpack(platform: Platform, name: str, compile_script: str, release: str = "") -> Path:
    folder = platform.config.state_dir / "buildpacks" / name
    (folder / "bin").mkdir(parents=True)
    scripts = {
        "detect": f"#!/bin/bash\necho {name}\n",
        "compile": "#!/bin/bash\nset -e\n" + compile_script,
        "release": release or "#!/bin/bash\necho '--- {}'\n",
    }
    for script, text in scripts.items():
        path = folder / "bin" / script
        path.write_text(text)
        path.chmod(0o755)
    return folder


def set_config(platform: Platform, owner: str, app: str, values: dict[str, str]) -> None:
    config_service.set_config(platform.ctx, platform.users[owner].user, app, {"values": values})


def test_python_web_over_ssh_then_rebuild(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "python-web", alice)
    started = time.monotonic()
    done = alice.push(src, app)
    first = time.monotonic() - started
    deployed(platform, app, done, 2)
    out = done.stderr
    for line in (
        "remote: -----> Python app detected",
        "remote: -----> Using Python 3.11",
        "remote: -----> Installing requirements with pip",
        "Successfully installed",
        "remote: -----> Discovering process types",
        "remote:        Procfile declares types -> web",
        "remote: -----> Compressing...",
        "remote: -----> Launching...",
    ):
        assert line in out, out
    sha = head(alice, src)
    build = platform.builds(app)[0]
    assert build.sha == sha
    assert build.image == slug_key(app, sha)
    assert build.dockerfile == ""
    assert build.procfile == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT --workers 2 --access-logfile -"
    }
    members = platform.slug_members(build.image)
    for name in ("./app.py", "./Procfile", "./.venv/bin/gunicorn", "./.profile.d/python.sh"):
        assert name in members
    assert not any(m.startswith("./.git/") for m in members)
    want = desired(platform, app)
    assert want["kind"] == "buildpack" and want["image"] == build.image and want["version"] == 2

    commit(alice, src, "again")
    started = time.monotonic()
    again = alice.push(src, app)
    rebuild = time.monotonic() - started
    deployed(platform, app, again, 3)
    assert "Restoring the virtualenv from the cache" in again.stderr
    assert "Requirements unchanged: using the cached virtualenv" in again.stderr
    assert "Running: " not in again.stderr  # no new process type: nothing to say
    print(f"python-web: first build {first:.1f}s, rebuild {rebuild:.1f}s")


def test_node_web_over_http(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "node-web", alice)
    done = alice.push(src, app, http=True)
    deployed(platform, app, done, 2)
    assert "Node.js app detected" in done.stderr
    assert "Installing dependencies with npm install" in done.stderr
    assert "Default types for buildpack -> web" in done.stderr
    build = platform.builds(app)[0]
    assert build.procfile == {"web": "npm start"}
    members = platform.slug_members(build.image)
    assert "./node_modules/ms/package.json" in members
    for shipped in ("node", "npm", "npx"):  # the run stack has node but no npm
        assert f"./.heroku/node/bin/{shipped}" in members
    assert "./.heroku/node/lib/node_modules/npm/package.json" in members
    assert "Installed node 18." in done.stderr and " into .heroku/node (" in done.stderr


def test_go_web(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "go-web", alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    assert "Go app detected" in done.stderr
    build = platform.builds(app)[0]
    assert build.procfile == {"web": "go-web"}
    assert "./bin/go-web" in platform.slug_members(build.image)


def test_go_godeps_app(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {
        "Godeps/Godeps.json": json.dumps(
            {"ImportPath": "github.com/example/hello", "GoVersion": "go1.6", "Deps": []}
        ),
        "main.go": (EXAMPLES / "go-web" / "main.go").read_text(),
    }
    src = source_tree(platform.tmp, files, alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    assert "Building github.com/example/hello (GOPATH, Godeps)" in done.stderr
    assert platform.builds(app)[0].procfile == {"web": "hello"}


def test_static_site(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "static", alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    assert "Static HTML app detected" in done.stderr
    assert platform.builds(app)[0].procfile == {
        "web": "python3 -m http.server $PORT --bind 0.0.0.0 --directory /app/."
    }


def test_dockerfile_web(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "dockerfile-web", alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    sha = head(alice, src)
    assert "-----> Building the Dockerfile" in done.stderr
    assert "The image exposes port 8080" in done.stderr
    build = platform.builds(app)[0]
    registry = platform.config.registry
    assert build.image == f"{registry}/{app}:git-{sha[:7]}"
    assert f"-----> Pushing the image to {registry}" in done.stderr
    tags = httpx.get(f"http://{registry}/v2/{app}/tags/list", timeout=10, trust_env=False)
    assert tags.json()["tags"] == [f"git-{sha[:7]}"]
    assert build.dockerfile.startswith("FROM debian:bookworm")
    assert desired(platform, app)["kind"] == "dockerfile"
    exists = subprocess.run(  # noqa: S603 - an argument list
        [*podman_args(), "image", "exists", build.image],
        env=podman_env(platform.config.state_dir),
        timeout=60,
    )
    assert exists.returncode == 0


def test_procfile_only_app_with_hooks_and_slugignore(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {
        "Procfile": "web: bash serve.sh\nworker: bash work.sh\n",
        "serve.sh": "exec python3 -m http.server $PORT\n",
        "work.sh": "sleep infinity\n",
        "bin/pre_compile": "#!/bin/bash\necho pre-compile ran\ntouch made-by-pre\n",
        "bin/post_compile": "#!/bin/bash\necho post-compile ran\n",
        ".slugignore": "*.psd\n/docs\n",
        "art.psd": "big",
        "docs/manual.txt": "words",
    }
    src = source_tree(platform.tmp, files, alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    out = done.stderr
    assert "Procfile app detected" in out
    assert "pre-compile ran" in out and "post-compile ran" in out
    assert "Removed 2 paths named in .slugignore" in out
    members = platform.slug_members(platform.builds(app)[0].image)
    assert "./made-by-pre" in members
    assert "./art.psd" not in members and "./docs/manual.txt" not in members
    assert platform.builds(app)[0].procfile == {"web": "bash serve.sh", "worker": "bash work.sh"}
    launched = out[out.index("remote: -----> Launching...") :]
    assert "remote:        Running: web=1" in launched
    assert "remote:        worker=0: `deis scale worker=1` starts it" in launched


def test_no_procfile_and_no_default_types(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {"requirements.txt": "six==1.16.0\n", "app.py": "print(1)\n"}
    src = source_tree(platform.tmp, files, alice)
    out = failed(platform, app, alice.push(src, app))
    assert "No process types: the app has no Procfile" in out
    # found before the dependency install, not after it
    assert "Installing requirements with pip" not in out
    assert "-----> Python app detected" in out


def test_no_buildpack_detects(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, {"README.md": "nothing to build\n"}, alice)
    out = failed(platform, app, alice.push(src, app))
    assert "No buildpack detects this app" in out


def test_buildpack_that_fails(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {
        "requirements.txt": "this-package-does-not-exist-deis-test==0.0.1\n",
        "Procfile": "web: python3 app.py\n",
    }
    src = source_tree(platform.tmp, files, alice)
    out = failed(platform, app, alice.push(src, app))
    assert "No matching distribution found for this-package-does-not-exist-deis-test" in out
    assert "The buildpack failed to compile the app" in out


def test_python_version_asked_for(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {"requirements.txt": "\n", "runtime.txt": "python-3.9.1\n", "Procfile": "web: x\n"}
    src = source_tree(platform.tmp, files, alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    assert re.search(
        r"Python 3\.9\.1 was asked for, but this stack has only Python 3\.11", done.stderr
    )

    app2 = platform.create_app("alice")
    files = {
        "pyproject.toml": '[project]\nname = "x"\nversion = "1"\nrequires-python = ">=3.12"\n',
        "Procfile": "web: x\n",
    }
    src2 = source_tree(platform.tmp, files, alice)
    out = failed(platform, app2, alice.push(src2, app2))
    assert "This app requires Python >=3.12, but this stack has only Python 3.11" in out


def test_buildpack_url_local_folder_and_its_error(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    folder = custom_buildpack(platform, "broken", "echo 'boom from the buildpack' >&2\nexit 7\n")
    set_config(platform, "alice", app, {"BUILDPACK_URL": str(folder)})
    src = source_tree(platform.tmp, {"Procfile": "web: x\n"}, alice)
    done = alice.push(src, app)
    assert done.returncode != 0
    assert "boom from the buildpack" in done.stderr
    assert [r.version for r in platform.releases(app)] == [2, 1]  # v2 is the config change
    assert platform.no_locks_held(app)


def test_buildpack_url_outside_allowed_folders(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    set_config(platform, "alice", app, {"BUILDPACK_URL": "/usr/lib"})
    src = source_tree(platform.tmp, {"Procfile": "web: x\n"}, alice)
    done = alice.push(src, app)
    assert done.returncode != 0
    assert "outside the folders allowed for buildpacks" in done.stderr


def test_buildpack_url_git_with_ref_and_config_env(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    folder = custom_buildpack(
        platform,
        "gitpack",
        'echo "GREETING is $GREETING and ENV_DIR has $(cat $3/GREETING)"\n'
        'echo "compiled" > "$1/compiled.txt"\n',
        "#!/bin/bash\nprintf -- '---\\ndefault_process_types:\\n  web: cat compiled.txt\\n'\n",
    )
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "bp")):
        assert alice.git(folder, *args).returncode == 0
    assert alice.git(folder, "tag", "v1").returncode == 0
    set_config(
        platform, "alice", app, {"BUILDPACK_URL": f"file://{folder}#v1", "GREETING": "hello"}
    )
    src = source_tree(platform.tmp, {"README": "x"}, alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 3)
    assert "GREETING is hello and ENV_DIR has hello" in done.stderr
    assert platform.builds(app)[0].procfile == {"web": "cat compiled.txt"}


def test_dot_buildpacks_runs_them_all(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    one = custom_buildpack(platform, "one", 'echo "-----> one compiled"\n')
    two = custom_buildpack(platform, "two", 'echo "-----> two compiled"\n')
    src = source_tree(
        platform.tmp, {".buildpacks": f"{one}\n{two}\n", "Procfile": "web: x\n"}, alice
    )
    done = alice.push(src, app)
    deployed(platform, app, done, 2)
    assert done.stderr.index("one compiled") < done.stderr.index("two compiled")


def _slow_app(platform: Platform, owner: str, seconds: float) -> tuple[str, Path]:
    app = platform.create_app(owner)
    folder = platform.config.state_dir / "buildpacks" / "slow"
    if not folder.exists():
        custom_buildpack(platform, "slow", 'echo "-----> sleeping"\nsleep "${SLEEP:-3}"\n')
    set_config(platform, owner, app, {"BUILDPACK_URL": str(folder), "SLEEP": str(seconds)})
    src = source_tree(platform.tmp, {"Procfile": "web: x\n"}, platform.users[owner])
    return app, src


def _push_in_background(pusher: Pusher, src: Path, app: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - an argument list
        ["git", "push", pusher.ssh_url(app), "HEAD:master"],
        cwd=src,
        env=pusher.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_one_build_per_app(platform: Platform) -> None:
    alice = platform.user("alice")
    app, src = _slow_app(platform, "alice", 6)
    first = _push_in_background(alice, src, app)
    try:
        _wait_for(lambda: platform.builder.pipeline.locks.app_locked(app))
        commit(alice, src, "second")
        second = alice.push(src, app)
        assert second.returncode != 0
        assert f"A build of {app} is already in progress" in second.stderr
    finally:
        _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert platform.releases(app)[0].version == 3  # v2 config, v3 the first push
    assert platform.no_locks_held(app)


def test_builds_are_queued_beyond_the_limit(platform: Platform) -> None:
    from dataclasses import replace

    from deis.builder.locks import BuildLocks

    platform.builder.pipeline.locks = BuildLocks(platform.config.locks, 1)
    alice = platform.user("alice")
    app1, src1 = _slow_app(platform, "alice", 5)
    app2, src2 = _slow_app(platform, "alice", 1)
    first = _push_in_background(alice, src1, app1)
    try:
        _wait_for(lambda: platform.builder.pipeline.locks.slots_in_use() == 1)
        second = alice.push(src2, app2)
    finally:
        _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert "Queued: 1 builds are running on this platform" in second.stderr
    assert replace  # keep the import used


def test_timed_out_build_leaves_nothing(platform: Platform) -> None:
    from dataclasses import replace

    platform.builder.pipeline.config = replace(platform.config, build_timeout=8.0)
    alice = platform.user("alice")
    app, src = _slow_app(platform, "alice", 120)
    done = alice.push(src, app)
    assert done.returncode != 0
    assert "The build timed out after 8 seconds" in done.stderr
    assert [r.version for r in platform.releases(app)] == [2, 1]
    assert platform.builds(app) == []
    assert platform.no_locks_held(app)
    left = subprocess.run(  # noqa: S603 - an argument list
        [
            *podman_args(),
            "ps",
            "-a",
            "--filter",
            f"name=deis-build-{app}",
            "--format",
            "{{.Names}}",
        ],
        env=podman_env(platform.config.state_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert left.stdout.strip() == ""


def test_clone_back_over_ssh_and_http(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "static", alice)
    deployed(platform, app, alice.push(src, app, http=True), 2)
    for url in (alice.ssh_url(app), alice.http_url(app)):
        dest = platform.tmp / f"clone-{len(url)}"
        done = alice.git(platform.tmp, "clone", "-q", url, str(dest), timeout=120)
        assert done.returncode == 0, done.stderr
        assert (dest / "index.html").read_text() == (EXAMPLES / "static" / "index.html").read_text()


def test_dockerfile_build_args_from_config(platform: Platform) -> None:
    from dataclasses import replace

    platform.builder.pipeline.config = replace(platform.config, docker_build_args=True)
    alice = platform.user("alice")
    app = platform.create_app("alice")
    set_config(platform, "alice", app, {"FLAVOUR": "mint"})
    dockerfile = (
        'FROM debian:bookworm\nARG FLAVOUR=plain\nRUN echo "flavour is $FLAVOUR"\nCMD ["true"]\n'
    )
    src = source_tree(platform.tmp, {"Dockerfile": dockerfile, "Procfile": "web: true\n"}, alice)
    done = alice.push(src, app)
    deployed(platform, app, done, 3)
    assert "flavour is mint" in done.stderr
    assert "Procfile declares types -> web" in done.stderr
    assert platform.builds(app)[0].procfile == {"web": "true"}


def test_remove_app_forgets_repo_cache_and_slugs(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "static", alice)
    deployed(platform, app, alice.push(src, app), 2)
    key = platform.builds(app)[0].image
    assert platform.builder.objects.exists(key)
    platform.call(platform.builder.remove_app(app))
    assert not platform.builder.objects.exists(key)
    assert not (platform.config.repos / f"{app}.git").exists()
    assert not (platform.config.caches / app).exists()


def test_dockerfile_build_when_the_registry_is_down(platform: Platform) -> None:
    from dataclasses import replace

    from tests.builder.conftest import free_port

    down = f"127.0.0.1:{free_port()}"
    platform.builder.pipeline.config = replace(platform.config, registry=down)
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, EXAMPLES / "dockerfile-web", alice)
    done = alice.push(src, app)
    assert done.returncode != 0
    assert f"Pushing {down}/{app}:git-" in done.stderr
    assert "the platform's registry failed" in done.stderr and "deisctl status" in done.stderr
    assert [r.version for r in platform.releases(app)] == [1]
    assert platform.no_locks_held(app)

"""`deisctl doctor` and the same checks in `deisctl up`: each check made to fail.

Programs are hidden with a PATH that lacks them, files by looking inside another root,
and catatonit for real: a tmpfs over /usr/libexec/podman in a private mount namespace
(`unshare --mount`), which hides it from that process tree only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deis.platform import doctor
from deis.runtime.podman import selftest
from deis.settings import Settings

from .conftest import Instance, deisctl_path, free_port

MakeInstance = Callable[[], Instance]

CATATONIT = Path("/usr/libexec/podman/catatonit")
EVERYTHING_FOUND = doctor.Finding("stack", True, "built")


def podman_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(state_dir=tmp_path / "state").with_changes(**changes)


def names(settings: Settings) -> set[str]:
    return {name for need in doctor.requirements(settings) for name in need.names}


def test_the_podman_runtime_needs_catatonit_runc_conmon_and_ip(tmp_path: Path) -> None:
    needed = names(podman_settings(tmp_path, build_network="none"))
    assert {"podman", "runc", "ip", str(CATATONIT), "/usr/bin/conmon"} <= needed
    assert "slirp4netns" not in needed  # only with egress, or builds' own network
    assert "slirp4netns" in names(podman_settings(tmp_path, egress=True, build_network="none"))
    assert "slirp4netns" in names(podman_settings(tmp_path))  # builds are isolated


def test_kubernetes_adapters_need_the_kubernetes_extra(tmp_path: Path) -> None:
    settings = podman_settings(
        tmp_path, runtime="kubernetes", router="kubernetes", logs="kubernetes"
    )
    needs = doctor.requirements(settings)
    module = [n for n in needs if n.kind == "module"]
    assert [n.names for n in module] == [("kubernetes",)]
    assert module[0].install == "pip install 'deis-platform[kubernetes]'"
    assert "podman" not in names(settings) and "nginx" not in names(settings)


def test_requirements_follow_the_adapters(tmp_path: Path) -> None:
    light = podman_settings(tmp_path, runtime="record", router="none", builder="none")
    assert doctor.requirements(light) == []
    assert "boto3" in names(light.with_changes(objects="s3"))
    assert "nginx" in names(light.with_changes(router="nginx"))
    assert "git-receive-pack" in names(light.with_changes(builder="git"))


def fake_root(tmp_path: Path, settings: Settings, leave_out: str) -> Path:
    """A root holding every required program and file of this machine but one."""
    root = tmp_path / "root"
    for need in doctor.requirements(settings):
        if need.kind == "program":
            found = shutil.which(need.names[0])
            paths = [found] if found else []
        else:
            paths = [name for name in need.names if Path(name).exists()]
        for name in paths:
            if name != leave_out:
                target = root / name.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("")
                target.chmod(0o755)
    return root


def test_a_missing_catatonit_is_named_with_its_package(tmp_path: Path) -> None:
    settings = podman_settings(tmp_path)
    root = fake_root(tmp_path, settings, str(CATATONIT))
    report = doctor.check(settings, root=root, path=os.environ["PATH"], live=False)
    assert not report.ok
    missing = report.missing()
    assert [f.install for f in missing] == ["apt-get install catatonit"]
    assert "catatonit" in missing[0].what
    text = doctor.failure_text(report)
    assert "apt-get install --no-install-recommends catatonit" in text


def path_without(tmp_path: Path, *hidden: str) -> str:
    """A PATH of one directory holding links to every program of PATH but `hidden`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if entry.name not in hidden and not target.exists():
                target.symlink_to(entry.path)
    return str(bin_dir)


def test_deisctl_doctor_names_a_program_missing_from_path(tmp_path: Path) -> None:
    path = path_without(tmp_path, "nginx", "runc")
    state = tmp_path / "state"
    done = subprocess.run(  # noqa: S603 - a fixed argument list
        [deisctl_path(), "doctor", "--static", "--state-dir", str(state)],
        env={**os.environ, "PATH": path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "MISSING nginx (the router): `nginx` is not on PATH (apt-get install nginx)" in done.stdout
    )
    assert "MISSING runc" in done.stdout
    assert "Install with: apt-get install --no-install-recommends nginx runc" in done.stderr
    assert "Traceback" not in done.stderr


def test_nginx_that_cannot_load_the_lua_module_is_reported(tmp_path: Path) -> None:
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed")
    fake = tmp_path / "bin" / "nginx"
    fake.parent.mkdir()
    # An nginx that refuses every configuration, as one built without Lua support does.
    fake.write_text(
        '#!/bin/sh\necho "nginx: [emerg] unknown directive lua_shared_dict" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{fake.parent}{os.pathsep}{old}"
    try:
        finding = doctor.nginx_lua_loads(tmp_path / "state")
    finally:
        os.environ["PATH"] = old
    assert not finding.ok
    assert "unknown directive lua_shared_dict" in finding.detail
    real = doctor.nginx_lua_loads(tmp_path / "state")
    assert real.ok, real.detail


def podman_works() -> str | None:
    if os.geteuid() != 0:
        return "needs root (rootful podman)"
    for program in ("podman", "runc", "ip", "unshare"):
        if shutil.which(program) is None:
            return f"{program} is not installed"
    if not CATATONIT.exists():
        return f"{CATATONIT} is missing"
    return None


needs_podman = pytest.mark.skipif(podman_works() is not None, reason=str(podman_works()))


@needs_podman
def test_the_self_test_container_starts_like_a_replica(tmp_path: Path) -> None:
    result = selftest.run(tmp_path / "state", f"dr{os.getpid()}")
    assert result.ok, result.detail
    args = selftest.container_spec("x")
    assert args.init and args.limits.memory and args.limits.cpus


def hidden_catatonit(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run Python `code` in a private mount namespace where /usr/libexec/podman is empty."""
    script = f'mount -t tmpfs tmpfs {CATATONIT.parent} && exec "$0" -c "$1"'
    return subprocess.run(  # noqa: S603 - a fixed argument list
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            sys.executable,
            code,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


@needs_podman
def test_a_container_without_catatonit_fails_and_names_it(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from deis.runtime.podman import selftest\n"
        f"r = selftest.run(Path({str(tmp_path / 'state')!r}), 'dn{os.getpid()}')\n"
        "print(r.ok, r.package)\n"
        "print(r.detail)\n"
    )
    done = hidden_catatonit(code, tmp_path)
    lines = done.stdout.splitlines()
    assert lines[0] == "False catatonit", done.stdout + done.stderr
    assert "container-init binary not found" in lines[1]


@needs_podman
def test_up_refuses_to_start_without_catatonit(make_instance: MakeInstance, tmp_path: Path) -> None:
    instance = make_instance()
    code = (
        "import subprocess, sys\n"
        f"done = subprocess.run([{deisctl_path()!r}, 'up', '--api-port', '{instance.api_port}',"
        f" '--registry-port', '{free_port()}',"
        f" '--router', 'none', '--builder', 'none', '--state-dir', {str(instance.state_dir)!r}],"
        " capture_output=True, text=True)\n"
        "print(done.returncode)\n"
        "print(done.stdout + done.stderr)\n"
    )
    done = hidden_catatonit(code, tmp_path)
    code_line, _, output = done.stdout.partition("\n")
    assert code_line == "1", done.stdout + done.stderr
    assert "catatonit" in output and "apt-get install catatonit" in output
    assert "Traceback" not in output
    assert not (instance.state_dir / "platform.pid").exists()  # nothing was started

"""The stack images themselves (built once per machine): what they contain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deis.builder.podman import podman_args, podman_env
from deis.stack.definition import base_image, build_image, run_image
from tests.builder.conftest import can_build

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(can_build() is not None, reason=str(can_build())),
    pytest.mark.usefixtures("stack_images"),
]


def run_in(image: str, script: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        [
            *podman_args(),
            "run",
            "--rm",
            "--pull=never",
            "--network=host",
            image,
            "bash",
            "-c",
            script,
        ],
        env=podman_env(state),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_stack(tmp_path: Path) -> None:
    done = run_in(
        run_image(),
        "python3 --version; node --version; echo $SSL_CERT_FILE; test -s $SSL_CERT_FILE",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Python 3.11" in done.stdout
    assert "v18." in done.stdout
    assert "/etc/deis/ca-certificates.crt" in done.stdout


def test_build_stack_has_the_toolchains(tmp_path: Path) -> None:
    script = "go version && npm --version && gcc --version | head -1 && git --version && python3 -m venv --without-pip /tmp/v"
    done = run_in(build_image(), script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "go1.19" in done.stdout


def test_https_through_the_proxy_from_the_build_stack(tmp_path: Path) -> None:
    done = run_in(
        build_image(),
        "curl -sS -o /dev/null -w '%{http_code}' https://pypi.org/simple/pip/",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"


def test_debian_bookworm_by_its_usual_name(tmp_path: Path) -> None:
    done = run_in(base_image(), "cat /etc/debian_version", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("12.")

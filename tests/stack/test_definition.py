"""The stack definitions: names, hashes and the image environment (no podman needed)."""

from __future__ import annotations

import re

from deis.stack.definition import (
    CA_ENV_VARS,
    CA_PATH,
    STACK_STORE,
    STACKS,
    base_image,
    build_image,
    run_image,
)


def test_names_and_store() -> None:
    assert str(STACK_STORE) == "/var/lib/deis/stack-images"
    assert re.fullmatch(r"localhost/deis/stack-build:[0-9a-f]{12}", build_image())
    assert re.fullmatch(r"localhost/deis/stack-run:[0-9a-f]{12}", run_image())
    assert base_image() == "docker.io/library/debian:bookworm"


def test_hash_follows_the_definition() -> None:
    run, build = STACKS["run"], STACKS["build"]
    assert run.hash != build.hash
    assert run.hash == STACKS["run"].hash  # stable
    # the build stack starts from the run stack, so its definition contains it
    assert build.definition()["parent"] == run.definition()


def test_packages() -> None:
    for package in ("bash", "ca-certificates", "python3", "nodejs"):
        assert package in STACKS["run"].packages
    for package in (
        "python3-venv",
        "python3-pip",
        "python3-dev",
        "npm",
        "golang",
        "build-essential",
        "git",
        "curl",
    ):
        assert package in STACKS["build"].packages


def test_ca_environment() -> None:
    for stack in STACKS.values():
        env = stack.full_env
        for var in CA_ENV_VARS:
            assert env[var] == CA_PATH
        assert {
            "SSL_CERT_FILE",
            "PIP_CERT",
            "NODE_EXTRA_CA_CERTS",
            "REQUESTS_CA_BUNDLE",
            "GIT_SSL_CAINFO",
        } <= set(env)

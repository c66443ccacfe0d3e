"""Does this machine have what the platform will use? (`deisctl doctor`, and `deisctl up`
before it starts anything).

`requirements` says, from the settings alone, which programs, files and Python modules
the chosen adapters run; `check` looks for each on this machine (or inside another root,
for the clean-root test) and then starts one real container the way replicas start. A
missing piece is named with the command that installs it, so that a fresh server never
looks up and then answers 503.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from deis.settings import Settings

# Where podman looks for catatonit (containers.conf's helper_binaries_dir default) and for
# conmon (its conmon_path default, then PATH).
PODMAN_HELPER_DIRS = (
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
)
CONMON_PATHS = (
    "/usr/libexec/podman/conmon",
    "/usr/local/libexec/podman/conmon",
    "/usr/local/lib/podman/conmon",
    "/usr/bin/conmon",
    "/usr/sbin/conmon",
    "/usr/local/bin/conmon",
    "/usr/local/sbin/conmon",
)
NGINX_NDK_MODULE = "/usr/lib/nginx/modules/ndk_http_module.so"
NGINX_LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
RESTY_CORE = "/usr/share/lua/5.1/resty/core.lua"
RESTY_LRUCACHE = "/usr/share/lua/5.1/resty/lrucache.lua"
DOCKER_REGISTRY = "/usr/bin/docker-registry"
BUSYBOX = "/bin/busybox"
NGINX_TEST_TIMEOUT = 20.0


@dataclass(frozen=True)
class Requirement:
    """One thing an adapter runs: a program on PATH, one of some files, or a Python module."""

    what: str  # what it is for, as an operator reads it
    kind: str  # "program", "file" or "module"
    names: tuple[str, ...]  # the program, the files (any one will do), or the module
    install: str  # the command that brings it


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str
    install: str = ""

    def line(self) -> str:
        mark = "ok     " if self.ok else "MISSING"
        fix = f" ({self.install})" if self.install and not self.ok else ""
        return f"{mark} {self.what}: {self.detail}{fix}"


def apt(package: str) -> str:
    return f"apt-get install {package}"


def program(what: str, name: str, package: str) -> Requirement:
    return Requirement(what, "program", (name,), apt(package))


def files(what: str, paths: Sequence[str], package: str) -> Requirement:
    return Requirement(what, "file", tuple(paths), apt(package))


def module(what: str, name: str, extra: str) -> Requirement:
    return Requirement(what, "module", (name,), f"pip install 'deis-platform[{extra}]'")


def podman_requirements(settings: Settings) -> list[Requirement]:
    needs = [
        program("podman (runs apps)", "podman", "podman"),
        program("runc (podman's OCI runtime here)", "runc", "runc"),
        files("conmon (podman's container monitor)", CONMON_PATHS, "conmon"),
        files(
            "catatonit (podman's --init, every replica's PID 1)",
            [f"{d}/catatonit" for d in PODMAN_HELPER_DIRS],
            "catatonit",
        ),
        program("ip (replicas' network namespaces)", "ip", "iproute2"),
        program("umount (cleaning up after a crash)", "umount", "mount"),
        files("busybox (the self-test container's image)", [BUSYBOX], "busybox-static"),
    ]
    if settings.addons_adapter == "podman":
        needs += [
            program("mount (add-ons' disks, loop-mounted)", "mount", "mount"),
            program("mkfs.ext4 (add-ons' disks)", "mkfs.ext4", "e2fsprogs"),
            program("resize2fs (an add-on's disk grown)", "resize2fs", "e2fsprogs"),
            program("e2fsck (an add-on's disk grown)", "e2fsck", "e2fsprogs"),
        ]
    if settings.egress:
        needs.append(program("slirp4netns (apps' egress)", "slirp4netns", "slirp4netns"))
    elif settings.builder == "git" and settings.build_network == "isolated":
        needs.append(program("slirp4netns (builds' network)", "slirp4netns", "slirp4netns"))
    return needs


def requirements(settings: Settings) -> list[Requirement]:
    """What the adapters these settings choose will run. Pure."""
    needs: list[Requirement] = []
    kubernetes = "kubernetes" in (settings.runtime, settings.router, settings.logs)
    if kubernetes:
        needs.append(module("the Kubernetes client", "kubernetes", "kubernetes"))
    if settings.objects == "s3":
        needs.append(module("boto3 (the S3 object store)", "boto3", "s3"))
    if settings.runtime == "podman":
        needs += podman_requirements(settings)
    if settings.router == "nginx":
        needs += [
            program("nginx (the router)", "nginx", "nginx"),
            files("nginx's Lua module", [NGINX_LUA_MODULE], "libnginx-mod-http-lua"),
            files("lua-resty-core (the router's balancer)", [RESTY_CORE], "lua-resty-core"),
            files("lua-resty-lrucache", [RESTY_LRUCACHE], "lua-resty-lrucache"),
        ]
    if settings.builder == "git":
        needs += [
            program("git (pushes and builds)", "git", "git"),
            program("git-receive-pack (git push)", "git-receive-pack", "git"),
            program("tar (slugs)", "tar", "tar"),
        ]
    if settings.local_registry:
        needs.append(
            files("docker-registry (the image registry)", [DOCKER_REGISTRY], "docker-registry")
        )
    return needs


def find_program(name: str, path: str, root: Path) -> str | None:
    for directory in path.split(os.pathsep):
        if not directory:
            continue
        candidate = root / directory.lstrip("/") / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return "/" + str(candidate.relative_to(root)) if root != Path("/") else str(candidate)
    return None


def find_file(paths: Sequence[str], root: Path) -> str | None:
    for path in paths:
        if (root / path.lstrip("/")).exists():
            return path
    return None


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def look_for(need: Requirement, path: str, root: Path) -> Finding:
    if need.kind == "program":
        found = find_program(need.names[0], path, root)
        detail = found or f"`{need.names[0]}` is not on PATH"
    elif need.kind == "file":
        found = find_file(need.names, root)
        detail = found or f"none of {', '.join(need.names)}"
        if len(need.names) == 1 and found is None:
            detail = f"{need.names[0]} is missing"
    else:
        found = need.names[0] if has_module(need.names[0]) else None
        detail = f"Python module {need.names[0]}" + ("" if found else " is not installed")
    return Finding(need.what, found is not None, detail, need.install)


def nginx_lua_loads(state_dir: Path) -> Finding:
    """`nginx -t` of a small configuration that loads the Lua module and resty.core, as the
    router's does: a module built for another nginx, or a missing Lua library, fails here."""
    work = state_dir / "router"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="doctor-", dir=work) as directory:
        conf = Path(directory) / "nginx.conf"
        conf.write_text(
            f"load_module {NGINX_NDK_MODULE};\n"
            f"load_module {NGINX_LUA_MODULE};\n"
            f"pid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log;\n"
            "events {}\n"
            "http {\n"
            f"    access_log off; client_body_temp_path {directory};\n"
            "    lua_shared_dict doctor 64k;\n"
            '    init_by_lua_block { require "resty.core" }\n'
            "}\n"
        )
        try:
            done = subprocess.run(  # noqa: S603 - an argument list
                ["nginx", "-t", "-q", "-p", directory, "-c", str(conf)],
                capture_output=True,
                text=True,
                timeout=NGINX_TEST_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Finding("nginx loads the Lua balancer", False, str(exc))
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        return Finding("nginx loads the Lua balancer", False, f"nginx -t failed: {said}")
    return Finding("nginx loads the Lua balancer", True, "nginx -t passed")


def container_starts(settings: Settings) -> Finding:
    from deis.runtime.podman import load_instance_id, selftest

    result = selftest.run(
        settings.state_dir, load_instance_id(settings.state_dir), egress=settings.egress
    )
    what = "a container starts like a replica"
    if result.ok:
        return Finding(what, True, result.detail)
    if result.missing and result.package:
        detail = f"{result.missing} is missing: {result.detail}"
        return Finding(what, False, detail, apt(result.package))
    return Finding(what, False, result.detail)


def stack_images_built() -> Finding:
    from deis.stack.build import ready

    what = "the stack images (buildpack builds and slugs)"
    if ready():
        return Finding(what, True, "built")
    return Finding(what, False, "not built yet", "deisctl stack build")


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    warnings: list[Finding]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def missing(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def lines(self) -> list[str]:
        return [f.line() for f in self.findings] + [
            f.line().replace("MISSING", "WARNING", 1) for f in self.warnings
        ]


def check(
    settings: Settings,
    *,
    path: str | None = None,
    root: Path = Path("/"),
    live: bool = True,
    stack: Callable[[], Finding] = stack_images_built,
) -> Report:
    """Look for every requirement; with live=True (and everything found) also load nginx's
    Lua module and start a real container. root: look inside another root (tests)."""
    path = path if path is not None else os.environ.get("PATH", os.defpath)
    findings = [look_for(need, path, root) for need in requirements(settings)]
    warnings: list[Finding] = []
    if live and all(f.ok for f in findings):
        if settings.router == "nginx":
            findings.append(nginx_lua_loads(settings.state_dir))
        if settings.runtime == "podman":
            findings.append(container_starts(settings))
            built = stack()
            if not built.ok:
                warnings.append(built)
    return Report(findings, warnings)


def failure_text(report: Report) -> str:
    lines = [f"this machine lacks what the platform needs ({len(report.missing())}):"]
    lines += [
        f"  {f.what}: {f.detail}" + (f"; install: {f.install}" if f.install else "")
        for f in report.missing()
    ]
    commands = sorted({f.install for f in report.missing() if f.install.startswith("apt-get ")})
    if commands:
        packages = " ".join(c.removeprefix("apt-get install ") for c in commands)
        lines.append(f"Install with: apt-get install --no-install-recommends {packages}")
    return "\n".join(lines)

"""Image references a user may deploy (`deis pull`): the platform's images belong to the
app they were built for.

Images in the platform's own registry and in the local store (`localhost/...`) are the
builds of apps: only the app they were built for (`REGISTRY/APP:git-SHA`,
`localhost/APP:git-SHA`) or an administrator may deploy one. Images of other registries
are anyone's to name, as before. A reference never starts with "-" (a program would read
it as an option).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from deis.domain.errors import Invalid, PermissionDenied

MAX_IMAGE_LENGTH = 512
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def validate_image(image: object) -> str:
    if not isinstance(image, str) or not image.strip():
        raise Invalid("Give the image to deploy, e.g. 127.0.0.1:5000/team/api:1.4.", field="image")
    image = image.strip()
    if len(image) > MAX_IMAGE_LENGTH or any(c.isspace() or ord(c) < 32 for c in image):
        raise Invalid("That is not an image reference.", field="image")
    if image.startswith("-"):
        raise Invalid("An image reference cannot start with '-'.", field="image")
    return image


def registry_of(image: str) -> str | None:
    """The registry host an image names (`127.0.0.1:5000`, `localhost`), or None when it
    names none (a short name such as `debian:bookworm` or `team/api`)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first.lower() == "localhost"):
        return first.lower()
    return None


def repository_of(image: str) -> str:
    """The path of the repository, without registry, tag or digest: `team/api`."""
    rest = image
    if registry_of(image) is not None:
        rest = image.partition("/")[2]
    rest = rest.split("@", 1)[0]
    head, _, last = rest.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def _loopback_port(host: str) -> str | None:
    """The port of a registry on this machine's loopback (`localhost:5000`), else None."""
    name, colon, port = host.rpartition(":")
    return port if colon and name in LOOPBACK_NAMES and port.isdigit() else None


def is_platform_registry(host: str, registries: Iterable[str]) -> bool:
    """Whether `host` names the local store or one of the platform's registries (on the
    loopback, by any of its names: `localhost:5000` is `127.0.0.1:5000`)."""
    if host == "localhost":
        return True
    port = _loopback_port(host)
    for registry in registries:
        registry = registry.lower()
        if host == registry or (port is not None and _loopback_port(registry) == port):
            return True
    return False


def check_image_use(
    image: str,
    app_id: str,
    registries: Iterable[str],
    is_app: Callable[[str], bool],
    *,
    admin: bool = False,
) -> None:
    """Raise PermissionDenied unless app `app_id` may deploy `image` (see the module).

    A short name (no registry) that names another app (`otherapp:git-SHA`) is refused
    too: podman finds `localhost/otherapp:git-SHA` in its store by that short name."""
    if admin:
        return
    host = registry_of(image)
    repository = repository_of(image)
    owner = repository.split("/", 1)[0]
    if host is not None and is_platform_registry(host, registries):
        if owner != app_id:
            raise PermissionDenied(
                f"{image} is in the platform's own image store; only the app it was built "
                f"for can deploy it. Push your code to {app_id}, or deploy an image from "
                "another registry."
            )
    elif host is None and owner != app_id and is_app(owner):
        raise PermissionDenied(
            f"{image} names another app's build; only the app it was built for can deploy it. Give "
            "the image's full name in an external registry."
        )

"""The Artifacts port on one machine: slugs in the object store, images in the platform's
registry (deleted through its HTTP API) and in the runtime's podman store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import httpx

from deis.domain.artifacts import Garbage
from deis.domain.desired import build_kind
from deis.domain.errors import Invalid
from deis.domain.records import Build
from deis.platform.registry import RegistryClient, split_reference
from deis.ports import Objects
from deis.runtime.podman.images import ImagePullError, Images, full_name, registry_host

log = logging.getLogger("deis.artifacts")

LOCAL_ONLY_HOST = "localhost"  # podman's name for images made here, never pulled


class LocalArtifacts:
    def __init__(
        self,
        objects: Objects,
        images: Images,
        registry: RegistryClient | None,
        release_copies: Callable[[str, Sequence[int]], list[int]] | None = None,
    ) -> None:
        """release_copies(app, versions): removes the runtime's extracted slugs of old
        releases; answers the versions that had one."""
        self.objects = objects
        self.images = images
        self.registry = registry
        self.release_copies = release_copies

    def fetch_image(self, image: str, credentials: dict[str, str]) -> None:
        """Pull the image (again, so a moved tag is followed); an image this machine has
        and cannot pull from anywhere (made here, or its registry unreachable) is used
        as it is. Refused credentials and unknown images are errors."""
        host = registry_host(image)
        if host == LOCAL_ONLY_HOST and self.images.exists(image):
            return
        try:
            self.images.pull(image, credentials)
        except ImagePullError as exc:
            if str(exc).startswith("Cannot reach") and self.images.exists(image):
                log.info("%s: its registry cannot be reached; the local copy is used", image)
                return
            raise Invalid(str(exc), field="image") from None

    def discard(self, garbage: Garbage) -> list[str]:
        """Delete what is still there of the garbage: the decision lists every old
        artefact each time, so what is present is looked up once (local images, the
        registry's tags of the app) rather than image by image."""
        deleted: list[str] = []
        for key in garbage.slugs:
            if self.objects.exists(key):
                self.objects.delete(key)
                deleted.append(key)
        local = self.images.names() if garbage.images or garbage.pulled else set()
        in_registry = [i for i in garbage.images if self.registry and self.registry.holds(i)]
        if in_registry and self.registry is not None:
            tags = {
                name: set(self.registry.tags(name))
                for _, name, _ in map(split_reference, in_registry)
            }
            present = [
                i for i in in_registry if split_reference(i)[2] in tags[split_reference(i)[1]]
            ]
            keep = self._kept_digests(garbage.kept_images) if present else set()
            for image in present:
                try:
                    if self.registry.delete(image, keep):
                        deleted.append(f"{image} (registry)")
                except httpx.HTTPError as exc:
                    log.warning("cannot delete %s from the registry: %s", image, exc)
        for image in (*garbage.images, *garbage.pulled):
            if full_name(image) in local and self.images.remove(image):
                deleted.append(image)
        if self.release_copies is not None and garbage.versions:
            for version in self.release_copies(garbage.app, garbage.versions):
                deleted.append(f"the extracted slug of v{version}")
        if deleted:
            log.info("collected for %s: %s", garbage.app, ", ".join(deleted))
        return deleted

    def forget_app(self, app_id: str) -> None:
        """A destroyed app's images: every tag of its repository in the platform's
        registry, and their local copies."""
        if self.registry is None:
            return
        try:
            tags = self.registry.tags(app_id)
            for tag in tags:
                image = f"{self.registry.address}/{app_id}:{tag}"
                self.registry.delete(image, keep=set())
                self.images.remove(image)
        except httpx.HTTPError as exc:
            log.warning("cannot delete the images of %s from the registry: %s", app_id, exc)

    def available(self, build: Build) -> bool:
        kind = build_kind(build)
        if kind == "buildpack":
            return self.objects.exists(build.image)
        if kind == "dockerfile":
            if self.images.exists(build.image):
                return True
            if self.registry is not None and self.registry.holds(build.image):
                try:
                    return self.registry.digest(build.image) is not None
                except httpx.HTTPError:
                    return True  # cannot tell: let the deploy say
            return False
        return True  # an image from `deis pull` is pulled again

    def _kept_digests(self, images: tuple[str, ...]) -> set[str]:
        digests: set[str] = set()
        if self.registry is None:
            return digests
        for image in images:
            if self.registry.holds(image):
                digest = self.registry.digest(image)
                if digest:
                    digests.add(digest)
        return digests

"""Object store adapters: slugs, build caches and push tarballs, by key."""

from deis.objects.filesystem import FilesystemObjects, InvalidKey

__all__ = ["FilesystemObjects", "InvalidKey"]

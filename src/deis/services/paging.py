"""Every item of a paged list, for the few uses that need them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
PAGE = 500


def every(fetch: Callable[[int, int], tuple[list[T], int]]) -> list[T]:
    """All items of `fetch(offset, limit) -> (page, total)`, a page at a time."""
    items: list[T] = []
    while True:
        page, total = fetch(len(items), PAGE)
        items.extend(page)
        if not page or len(items) >= total:
            return items

"""The API process's own housekeeping (deis.platform.server)."""

from __future__ import annotations

import subprocess
import sys

FREEZE = """
import gc, weakref
from deis.platform.server import keep_out_of_full_collections

class Node:
    pass

garbage = Node()
garbage.itself = garbage  # a cycle: only the collector frees it
freed = weakref.ref(garbage)
del garbage
kept = [Node() for _ in range(1000)]
keep_out_of_full_collections()
print(gc.get_freeze_count() >= len(kept), freed() is None)
"""


def test_what_the_process_started_with_is_left_out_of_later_collections() -> None:
    # In a process of its own: frozen objects are kept until that process ends.
    out = subprocess.run(  # noqa: S603 - this test's own code
        [sys.executable, "-c", FREEZE], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["True", "True"]  # frozen; the garbage freed first

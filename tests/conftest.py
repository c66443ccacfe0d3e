"""What every test shares."""

from __future__ import annotations

import os

# A platform runs one API process per core by default. Tests start many platforms, so
# they run one process each, unless a test asks for more (tests/platform/test_workers.py,
# tests/e2e/test_first_deploy.py).
os.environ.setdefault("DEIS_WORKERS", "1")

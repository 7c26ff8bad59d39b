"""Both storage backends for one test: `@both_backends` (see tests/conftest.py: `backend`)."""

from __future__ import annotations

import pytest

BACKENDS = ["sqlite", "postgres"]

# Engine-level tests opt in: the `gateway` (and `database_url`) fixture then runs on each.
both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

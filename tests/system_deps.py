"""What a test does when a system program it drives (Chromium, PostgreSQL) is missing.

On a developer's machine it skips, naming what to install. In CI (``.ci/run`` sets
``TITANIC_REQUIRE_SYSTEM_DEPS=1``) it fails: a run that silently skipped its browser and
database tests would go green without having checked the UI or the PostgreSQL instance.
"""

from __future__ import annotations

from typing import NoReturn

import pytest

from titanic_assets import settings

REQUIRE_ENV = "TITANIC_REQUIRE_SYSTEM_DEPS"


def missing(what: str) -> NoReturn:
    """Skip the test because ``what`` is missing, or fail it when the variable requires it."""
    if settings.value(REQUIRE_ENV):
        pytest.fail(f"{what}, and {REQUIRE_ENV}=1 requires it (as in CI)", pytrace=False)
    pytest.skip(f"{what} (with {REQUIRE_ENV}=1, as in CI, this fails instead)")

"""Importing the package turns numpy's huge-page advice off, unless the user set it."""

import os
import subprocess
import sys

import pytest

# numpy's switch returns the setting it replaces: what the package left in effect.
PROBE = "import titanic_assets, numpy._core.multiarray as m; print(m._set_madvise_hugepage(True))"


@pytest.mark.parametrize(
    ("variable", "expected"),
    [(None, "False"), ("1", "True"), ("0", "False")],
)
def test_huge_page_advice_is_off_unless_the_user_asks(variable, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if variable is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = variable
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == expected

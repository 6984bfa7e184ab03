"""A missing Chromium or PostgreSQL skips locally and fails in CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.system_deps import REQUIRE_ENV, missing

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_program_skips_when_not_required(monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        missing("chromium is not installed")
    monkeypatch.setenv(REQUIRE_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        missing("chromium is not installed")


@pytest.mark.parametrize("required", ["1", "on", "yes"])
def test_a_missing_program_fails_when_required(monkeypatch, required):
    monkeypatch.setenv(REQUIRE_ENV, required)
    with pytest.raises(pytest.fail.Exception, match=f"PostgreSQL .* {REQUIRE_ENV}=1 requires"):
        missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


def test_ci_requires_them_and_the_tests_use_the_helper():
    assert f"export {REQUIRE_ENV}=1" in (ROOT / ".ci" / "run").read_text()
    # Every test that needs Chromium or PostgreSQL goes through the helper, never pytest.skip.
    users = 0
    for path in (ROOT / "tests").rglob("*.py"):
        text = path.read_text()
        if path.name == "system_deps.py" or not ("chromium" in text or "PostgreSQL" in text):
            continue
        calls = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)]
        skips = [ast.unparse(c)[:60] for c in calls if ast.unparse(c.func) == "pytest.skip"]
        assert not skips, f"{path.relative_to(ROOT)} skips by itself: {skips}"
        users += any(ast.unparse(c.func) == "system_deps.missing" for c in calls)
    assert users >= 2  # tests/e2e/chromium.py (both browser tests) and the PostgreSQL tests

"""The layout tells the architecture: imports only point down (parsed with ``ast``, so a lazy
import inside a function counts too).

    pipelines (feature/training/inference), definitions, cli, apps, demo
        -> data_layer (warehouse, registry, I/O manager)
            -> core (pure pandas / XGBoost / GX rules)
    names and settings are leaves every layer may use, except that core never reads settings:
    its functions take thresholds and paths as arguments.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "titanic_assets"

#: Top-level names of the package's upper layers.
PIPELINES = (
    "feature_pipeline",
    "training_pipeline",
    "inference_pipeline",
    "automation",
    "partitions",
)
ENTRY_POINTS = ("definitions", "cli", "apps", "demo")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    return sorted(set(bad))


def _package(*names: str) -> tuple[str, ...]:
    return tuple(f"titanic_assets.{name}" for name in names)


def test_core_imports_no_dagster_no_storage_no_upper_layer_no_settings() -> None:
    forbidden = (
        "dagster",
        "dagster_duckdb",
        "dagster_duckdb_pandas",
        "duckdb",
        *_package("data_layer", "settings", *PIPELINES, *ENTRY_POINTS),
    )
    assert violations("core", forbidden) == []


def test_data_layer_never_imports_a_pipeline_or_an_entry_point() -> None:
    assert violations("data_layer", _package(*PIPELINES, *ENTRY_POINTS)) == []


@pytest.mark.parametrize("pipeline", PIPELINES[:3])
def test_pipelines_never_import_an_entry_point(pipeline: str) -> None:
    assert violations(pipeline, _package(*ENTRY_POINTS)) == []


def test_names_is_a_leaf() -> None:
    assert imported_modules(PACKAGE / "names.py") <= {"__future__", "__future__.annotations"}


def test_the_checker_sees_lazy_imports(tmp_path) -> None:
    """The check itself can fail: an import hidden in a function is found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from titanic_assets.data_layer import registry\n")
    assert "titanic_assets.data_layer.registry" in imported_modules(sample)


#: The project hook's SQL pattern (``shared/hooks/before-stop``): a statement's opening words.
SQL_STATEMENT = re.compile(
    r"\b(SELECT|INSERT INTO|DELETE FROM|CREATE (OR REPLACE )?(TABLE|VIEW)|UPDATE [a-z_.]+ SET)\b"
)
#: Where SQL may live: the data layer, and GX's SQL expectations.
SQL_HOMES = ("titanic_assets/data_layer/", "titanic_assets/core/quality.py")


def sql_outside_data_layer(root: Path) -> list[str]:
    """``path:line: text`` of every line under ``root`` that opens a SQL statement outside its
    homes (paths relative to ``root``'s parent, as the hook prints them)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).as_posix()
        if relative.startswith(SQL_HOMES):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SQL_STATEMENT.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_every_sql_statement_lives_in_the_data_layer() -> None:
    """Apps, sensors, demo, CLI and pipelines call named data-layer functions instead."""
    assert sql_outside_data_layer(PACKAGE) == []


def test_the_sql_check_can_fail(tmp_path) -> None:
    package = tmp_path / "titanic_assets"
    (package / "apps").mkdir(parents=True)
    (package / "data_layer").mkdir()
    (package / "apps" / "x.py").write_text('q = f"""\n    SELECT * FROM {TABLE}\n"""\n')
    (package / "data_layer" / "y.py").write_text('q = "DELETE FROM t"\n')
    assert sql_outside_data_layer(package) == ["titanic_assets/apps/x.py:2: SELECT * FROM {TABLE}"]

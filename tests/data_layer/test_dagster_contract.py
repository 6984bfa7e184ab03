"""The private Dagster names the package relies on: each found, each pinned by a test.

Custom type handlers and clients for dagster-duckdb have no public API (Dagster's own
dagster-duckdb-pandas imports them from ``dagster._core.storage.db_io_manager``). If an upgrade
renames or reshapes them, these tests fail with the exact difference, instead of the I/O manager
breaking in a run. The scanner finds a private name in every form it can be reached
(``import``, ``from … import``, ``from dagster import _x``, attribute access, ``importlib``
strings); a private name the package uses must be touched by some test, not just named.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path

from dagster._core.storage.db_io_manager import DbClient, DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb.io_manager import DuckDbClient

from titanic_assets.dagster_home import instance_at
from titanic_assets.data_layer import io_manager

PACKAGE = Path(io_manager.__file__).resolve().parents[1]


def parameters(function) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def test_type_handler_interface_is_what_our_pandas_handler_implements() -> None:
    assert parameters(DbTypeHandler.handle_output) == [
        "context",
        "table_slice",
        "obj",
        "connection",
    ]
    assert parameters(DbTypeHandler.load_input) == ["context", "table_slice", "connection"]
    assert {"handle_output", "load_input", "supported_types"} <= DbTypeHandler.__abstractmethods__
    assert issubclass(io_manager._PandasHandler, DbTypeHandler)


def test_table_slice_fields_we_read() -> None:
    fields = (
        TableSlice._fields
        if hasattr(TableSlice, "_fields")
        else [f.name for f in dataclasses.fields(TableSlice)]
    )
    assert {"table", "schema", "partition_dimensions", "columns"} <= set(fields)


def test_db_io_manager_constructor_takes_what_we_pass() -> None:
    assert {
        "type_handlers",
        "db_client",
        "database",
        "schema",
        "io_manager_name",
        "default_load_type",
    } <= set(parameters(DbIOManager.__init__))
    assert parameters(DuckDBIOManager.create_io_manager) == ["context"]


def test_duckdb_client_statics_we_override_or_call() -> None:
    assert issubclass(DuckDbClient, DbClient)
    assert parameters(DuckDbClient.delete_table_slice) == ["context", "table_slice", "connection"]
    assert parameters(DuckDbClient.get_select_statement) == ["table_slice"]
    assert len(parameters(DuckDbClient.connect)) == 2  # (context, table_slice), positional
    ours = io_manager._TransactionalDuckDbClient
    for name in ("delete_table_slice", "connect"):
        theirs = parameters(getattr(DuckDbClient, name))
        assert len(parameters(getattr(ours, name))) == len(theirs), name
    assert isinstance(inspect.getattr_static(DuckDbClient, "connect"), staticmethod)


def test_configurable_class_is_what_the_forkserver_launcher_is_loaded_through(tmp_path) -> None:
    """The opt-in launcher is built by Dagster from its yaml through ``ConfigurableClass``: the
    instance hands it a ``ConfigurableClassData`` that rehydrates to the same launcher."""
    from dagster._serdes import ConfigurableClass, ConfigurableClassData

    from titanic_assets.launcher import ForkserverRunLauncher

    assert issubclass(ForkserverRunLauncher, ConfigurableClass)
    assert {"config_type", "from_config_value"} <= set(dir(ConfigurableClass))
    profile = PACKAGE.parent / "deploy" / "dagster.forkserver.yaml"
    (tmp_path / "dagster.yaml").write_text(profile.read_text())
    with instance_at(str(tmp_path)) as instance:
        data = instance.run_launcher.inst_data
        assert isinstance(data, ConfigurableClassData)
        assert (data.module_name, data.class_name) == (
            "titanic_assets.launcher",
            "ForkserverRunLauncher",
        )
        assert isinstance(data.rehydrate(ConfigurableClass), ForkserverRunLauncher)


#: A private Dagster module, or a module of dagster-duckdb's internals, named as a whole string
#: (``importlib.import_module("dagster._core.x")``, ``["-m", "dagster._cli"]``, ``"dagster._x:Y"``).
_PRIVATE_STRING = re.compile(r"(dagster\._[\w.]*|dagster_duckdb\.[\w.]+)(:\w+)?")
_PRIVATE_MODULE = ("dagster._", "dagster_duckdb.")


def private_dagster_uses(source: str) -> list[str]:
    """Every private Dagster module (or name) that ``source`` reaches, whatever the form.

    ``import dagster._x[ as y]``, ``from dagster._x import y``, ``from dagster import _x``,
    ``dagster._x`` / ``dg._x`` on the imported module, ``getattr(dg, "_x")``, and module names in
    strings (``importlib.import_module``, ``__import__``, ``python -m``). Sorted, one entry per
    use, each as the dotted module name (``dagster._x`` for a private name of ``dagster``).
    """
    tree = ast.parse(source)
    found: list[str] = []
    aliases = {"dagster"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(_PRIVATE_MODULE):
                    found.append(alias.name)
                elif alias.name == "dagster":
                    aliases.add(alias.asname or "dagster")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(_PRIVATE_MODULE):
                found.append(node.module)
            elif node.module in ("dagster", "dagster_duckdb"):
                found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.append(f"dagster.{node.attr}")
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "getattr":
            target, name = [*node.args, None, None][:2]
            module = isinstance(target, ast.Name) and target.id in aliases
            if module and isinstance(name, ast.Constant) and str(name.value).startswith("_"):
                found.append(f"dagster.{name.value}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _PRIVATE_STRING.fullmatch(node.value.strip())
            if match:
                found.append(match.group(1))
    return sorted(found)


def test_the_scanner_sees_every_import_form() -> None:
    """Each form on its own line is found, and public names are not."""
    source = """
import dagster
import dagster as dg
import dagster._core.a
import dagster._core.b as b
from dagster._core.c import C
from dagster import _d, asset
from dagster_duckdb.e import E
import importlib
importlib.import_module("dagster._core.f")
__import__("dagster._core.g")
args = ["python", "-m", "dagster._cli.h"]
dg._i.thing
dagster._j
getattr(dg, "_k")
from dagster_duckdb import DuckDBResource
import dagster_duckdb
dg.asset
doc = "a sentence that names dagster._core.not_a_module in passing"
"""
    assert private_dagster_uses(source) == [
        "dagster._cli.h",
        "dagster._core.a",
        "dagster._core.b",
        "dagster._core.c",
        "dagster._core.f",
        "dagster._core.g",
        "dagster._d",
        "dagster._i",
        "dagster._j",
        "dagster._k",
        "dagster_duckdb.e",
    ]


def _package_uses() -> list[str]:
    package = PACKAGE
    return sorted(
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        for name in private_dagster_uses(path.read_text())
    )


def test_every_private_name_the_package_uses_is_exercised_by_a_test() -> None:
    """A private name is pinned only by a test that touches it (imports it, in any form):
    naming a test as the pin is not enough."""
    touched = {
        name
        for path in PACKAGE.parent.joinpath("tests").rglob("*.py")
        for name in private_dagster_uses(path.read_text())
    }
    unpinned = sorted({use.split(": ")[1] for use in _package_uses()} - touched)
    assert not unpinned, f"used by the package but touched by no test: {unpinned}"


def test_the_event_log_class_the_default_instance_names_is_where_dagster_keeps_it() -> None:
    """dagster.yaml names Dagster's ``ConsolidatedSqliteEventLogStorage`` by its module path,
    ``dagster._core.storage.event_log``: a storage class is named in yaml by module and class,
    the public ``dagster`` package does not export this one, and that path is the one Dagster's
    own docstring gives for it. If an upgrade moves or renames it, this fails instead of every
    process failing to load the instance."""
    import yaml
    from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
    from dagster._serdes import ConfigurableClass

    config = yaml.safe_load((PACKAGE.parent / "dagster.yaml").read_text())["event_log_storage"]
    assert config["module"] == "dagster._core.storage.event_log"
    named = getattr(importlib.import_module(config["module"]), config["class"])
    assert named is ConsolidatedSqliteEventLogStorage
    assert issubclass(ConsolidatedSqliteEventLogStorage, ConfigurableClass)
    assert set(ConsolidatedSqliteEventLogStorage.config_type()) == set(config["config"])


def test_no_other_private_dagster_import_in_the_package() -> None:
    """The private names pinned here and in tests/test_launcher.py are the only ones, each
    with the reason no public API serves."""
    private = _package_uses()
    assert sorted(private) == [
        # Custom type handlers and clients for dagster-duckdb have no public API (Dagster's own
        # dagster-duckdb-pandas imports the same); pinned by the tests above.
        "data_layer/io_manager.py: dagster._core.storage.db_io_manager",
        "data_layer/io_manager.py: dagster_duckdb.io_manager",
        # The opt-in forkserver profile only (deploy/dagster.forkserver.yaml; the default and
        # the PostgreSQL configurations never load it): a custom run launcher has no public
        # API, and the run worker's entry point is private. Pinned by tests/test_launcher.py.
        "launcher.py: dagster._cli.api",
        "launcher.py: dagster._core.launcher",
        "launcher.py: dagster._serdes",
        "launcher.py: dagster._utils.interrupts",
    ]

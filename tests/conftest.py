"""Shared fixtures: real passengers, a temporary warehouse, a temporary Dagster instance."""

import os

import dagster as dg
import pandas as pd
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TITANIC_AUTOMATION", "on")
# One signing key for the whole session (and the subprocesses it starts): tests build a warehouse
# under one DAGSTER_HOME and read it under another, which a per-home key file would refuse.
# tests/reliability/test_tampering.py covers the key file itself.
os.environ.setdefault("TITANIC_MODEL_SIGNING_KEY", "test-session-signing-key-0123456789abcdef")

from titanic_assets.core.features import build_features
from titanic_assets.core.schema import normalise_source, validate_passengers
from titanic_assets.core.sources import packaged_source, read_source_csv


@pytest.fixture(scope="session")
def titanic3_raw() -> pd.DataFrame:
    """The packaged 1,309-row titanic3 list, every cell as text."""
    return read_source_csv(packaged_source().path)


@pytest.fixture(scope="session")
def historical_passengers(titanic3_raw: pd.DataFrame) -> pd.DataFrame:
    passengers, _ = normalise_source(titanic3_raw)
    accepted, rejected = validate_passengers(passengers, titanic3_raw)
    assert rejected.empty and len(accepted) == 1309
    return accepted


@pytest.fixture(scope="session")
def historical_features(historical_passengers: pd.DataFrame) -> pd.DataFrame:
    """The titanic3 list as feature rows, shared by the session: copy it before changing it."""
    return build_features(historical_passengers)


@pytest.fixture
def warehouse(tmp_path) -> str:
    """A fresh DuckDB warehouse file (not yet created)."""
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def instance(tmp_path):
    """A real, temporary Dagster instance (sqlite storage in tmp)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance

"""Tampering and safety: signed artifacts, no pickle, parameterised SQL, a loopback UI.

* A model artifact altered in the registry is refused on load, by the CLI and by batch inference.
* Another valid model swapped in together with a fixed checksum is refused too: the HMAC
  signature is made with a key outside the warehouse. So is an unsigned version.
* The key file is created on first use with 0600 permissions; a loose or short key is refused.
* Even someone holding the key cannot get code run: artifacts are parsed only as XGBoost
  UBJSON/JSON, and nothing in the package can unpickle.
* Strings from users (passenger ids, model versions, cutoffs) reach SQL only as parameters.
* The UI binds to 127.0.0.1 unless the user asks for another host.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import stat
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.inference_pipeline.test_inference_assets import seed_champion
from tests.reliability._support import PROJECT
from titanic_assets import cli
from titanic_assets.apps import data as app_data
from titanic_assets.core.features import FEATURE_COLUMNS
from titanic_assets.core.schema import normalise_source
from titanic_assets.data_layer import registry, signing
from titanic_assets.data_layer.lineage import PassengerNotFoundError, passenger_lineage
from titanic_assets.data_layer.resources import warehouse_resources
from titanic_assets.data_layer.warehouse import connect
from titanic_assets.inference_pipeline.assets import predictions

PACKAGE = PROJECT / "titanic_assets"
GOOD = ["--pclass", "1", "--sex", "female", "--age", "29", "--fare", "80", "--embarked", "S"]
MALICIOUS = [
    "x'; DROP TABLE features.historical_features; --",
    "' OR '1'='1",
    '"; DELETE FROM models.model_versions; --',
    "titanic3-00001' UNION SELECT * FROM models.model_versions --",
]


class _Boom:
    """Unpickling this creates a file: proof that someone unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def champion_warehouse(tmp_path, historical_passengers) -> str:
    warehouse = str(tmp_path / "warehouse.duckdb")
    seed_champion(warehouse, historical_passengers)
    return warehouse


def _replace_artifact(warehouse: str, data: bytes, *, fix_checksum: bool) -> None:
    with connect(warehouse) as conn:
        if fix_checksum:
            conn.execute(
                "UPDATE models.model_versions SET artifact = ?, artifact_sha256 = ? WHERE version = 1",
                [data, registry.sha256_hex(data)],
            )
        else:
            conn.execute("UPDATE models.model_versions SET artifact = ? WHERE version = 1", [data])


def _artifact(warehouse: str) -> bytes:
    with connect(warehouse, read_only=True) as conn:
        return bytes(conn.execute("SELECT artifact FROM models.model_versions").fetchall()[0][0])


def _predict(warehouse: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setenv("TITANIC_DUCKDB", warehouse)
    code = cli.main(["predict", *GOOD])
    out, err = capsys.readouterr()
    return code, out, err


def test_untampered_champion_scores(champion_warehouse, monkeypatch, capsys):
    code, out, _ = _predict(champion_warehouse, monkeypatch, capsys)
    assert code == cli.EXIT_OK and "model_version: 1" in out


@pytest.mark.parametrize("where", ["first byte", "middle byte", "truncated", "appended"])
def test_altered_artifact_is_refused_everywhere(champion_warehouse, where, monkeypatch, capsys):
    data = bytearray(_artifact(champion_warehouse))
    if where == "first byte":
        data[0] ^= 0x01
    elif where == "middle byte":
        data[len(data) // 2] ^= 0x40
    elif where == "truncated":
        data = data[:-16]
    else:
        data += b"\x00"
    _replace_artifact(champion_warehouse, bytes(data), fix_checksum=False)

    refused = pytest.raises(registry.ArtifactIntegrityError, match="tampered")
    with connect(champion_warehouse, read_only=True) as conn, refused:
        registry.load_model(conn, 1)
    _assert_refused_everywhere(champion_warehouse, "does not match", monkeypatch, capsys)


def _other_valid_model(historical_passengers) -> bytes:
    """A genuine XGBoost model, but not the registered one (deeper trees, other seed)."""
    from titanic_assets.core.features import build_features
    from titanic_assets.core.model import TrainingParams, model_to_bytes, train_model

    rows = build_features(historical_passengers)
    return model_to_bytes(train_model(rows, TrainingParams(n_estimators=7, max_depth=6, seed=3)))


def _assert_refused_everywhere(warehouse: str, match: str, monkeypatch, capsys) -> None:
    """Training's champion load, ``titanic predict``, batch inference and the app all refuse."""
    refused = pytest.raises(registry.ArtifactIntegrityError, match=match)
    with connect(warehouse, read_only=True) as conn, refused:
        registry.load_champion(conn)
    form = {"pclass": "1", "sex": "female", "age": "29", "fare": "80", "embarked": "S"}
    with pytest.raises(app_data.AppDataError, match=match):
        app_data.predict(app_data.WarehouseReader(warehouse), **form, sibsp=0, parch=0)
    code, out, err = _predict(warehouse, monkeypatch, capsys)
    assert code == cli.EXIT_UNAVAILABLE and out == ""
    assert match in err and "Traceback" not in err
    result = dg.materialize(
        [predictions],
        partition_key="2026-11-05",
        resources=warehouse_resources(warehouse),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert match in failure.user_failure_data.description


def test_another_valid_model_with_a_fixed_checksum_is_refused_everywhere(
    champion_warehouse, historical_passengers, monkeypatch, capsys
):
    swapped = _other_valid_model(historical_passengers)
    assert swapped != _artifact(champion_warehouse)
    _replace_artifact(champion_warehouse, swapped, fix_checksum=True)
    with connect(champion_warehouse, read_only=True) as conn:  # the checksum alone is fooled
        stored = conn.execute("SELECT artifact_sha256 FROM models.model_versions").fetchall()
    assert stored[0][0] == registry.sha256_hex(swapped)
    _assert_refused_everywhere(champion_warehouse, "signature does not verify", monkeypatch, capsys)


def test_unsigned_version_is_refused_everywhere(champion_warehouse, monkeypatch, capsys):
    with connect(champion_warehouse) as conn:
        conn.execute("UPDATE models.model_versions SET signature = NULL")
    _assert_refused_everywhere(champion_warehouse, "unsigned", monkeypatch, capsys)


def test_a_model_signed_with_another_key_is_refused(champion_warehouse, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, "another-deployment-key-" + "9" * 32)
    refused = pytest.raises(registry.ArtifactIntegrityError, match="signature does not verify")
    with connect(champion_warehouse, read_only=True) as conn, refused:
        registry.load_champion(conn)


def test_key_file_created_on_first_use_with_0600_and_used_after(
    tmp_path, historical_passengers, monkeypatch
):
    monkeypatch.delenv(signing.KEY_ENV, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    warehouse = str(tmp_path / "w.duckdb")
    seed_champion(warehouse, historical_passengers)
    key_file = home / signing.KEY_FILE_NAME
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    with connect(warehouse, read_only=True) as conn:
        assert registry.load_champion(conn)[0].version == 1
    assert key_file.read_text() == key  # reused, not regenerated

    # Another instance folder means another key: the same warehouse no longer verifies.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "other_home"))
    refused = pytest.raises(registry.ArtifactIntegrityError, match="signature does not verify")
    with connect(warehouse, read_only=True) as conn, refused:
        registry.load_champion(conn)

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    key_file.chmod(0o644)
    refused = pytest.raises(registry.ArtifactIntegrityError, match="chmod 600")
    with connect(warehouse, read_only=True) as conn, refused:
        registry.load_champion(conn)


def test_processes_racing_to_create_the_key_file_all_read_the_one_written(tmp_path):
    """Two trainings (or a training and the app) on a fresh instance create the key at once:
    each must read the whole key that won, never a half-written or empty file."""
    home = tmp_path / "home"
    code = (
        "import sys, time\n"
        "from titanic_assets.data_layer import signing\n"
        "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"  # start together
        "print(signing.signing_key().decode())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != signing.KEY_ENV}
    env["DAGSTER_HOME"] = str(home)
    start = f"{time.time() + 5.0}"  # imports take seconds on a loaded machine
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, start], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert keys == {(home / signing.KEY_FILE_NAME).read_text().strip()}
    assert len(keys.pop()) >= signing.MIN_KEY_CHARS
    assert [p.name for p in home.iterdir()] == [signing.KEY_FILE_NAME]  # no drafts left


def test_a_short_key_in_the_environment_fails_naming_the_variable(champion_warehouse, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, "too-short")
    with pytest.raises(signing.SigningKeyError, match=signing.KEY_ENV):
        signing.signing_key()
    refused = pytest.raises(registry.ArtifactIntegrityError, match=signing.KEY_ENV)
    with connect(champion_warehouse, read_only=True) as conn, refused:
        registry.load_champion(conn)


def test_pickle_is_never_unpickled_even_when_signed(
    champion_warehouse, tmp_path, monkeypatch, capsys
):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Boom(marker))
    _replace_artifact(champion_warehouse, payload, fix_checksum=True)
    refused = pytest.raises(registry.ArtifactIntegrityError, match="signature does not verify")
    with connect(champion_warehouse, read_only=True) as conn, refused:
        registry.load_model(conn, 1)
    # Someone holding the key signs the payload: it is still only parsed as XGBoost, never
    # unpickled.
    features = json.dumps(list(FEATURE_COLUMNS))
    with connect(champion_warehouse) as conn:
        conn.execute(
            "UPDATE models.model_versions SET signature = ? WHERE version = 1 AND features = ?",
            [signing.sign(1, FEATURE_COLUMNS, payload), features],
        )
    refused = pytest.raises(registry.ArtifactIntegrityError, match="not a loadable XGBoost model")
    with connect(champion_warehouse, read_only=True) as conn, refused:
        registry.load_model(conn, 1)
    code, _, err = _predict(champion_warehouse, monkeypatch, capsys)
    assert code == cli.EXIT_UNAVAILABLE and "not a loadable XGBoost model" in err
    assert not marker.exists()


def test_loading_a_model_never_calls_pickle(champion_warehouse, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called while loading or scoring a model")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    with connect(champion_warehouse, read_only=True) as conn:
        meta, model = registry.load_champion(conn)
        assert meta.version == 1 and model is not None
        fmt = conn.execute("SELECT DISTINCT artifact_format FROM models.model_versions").fetchall()
    assert fmt == [("xgboost-ubj",)]
    code, _, _ = _predict(champion_warehouse, monkeypatch, capsys)
    assert code == cli.EXIT_OK


UNSAFE_MODULES = {
    "pickle",
    "_pickle",
    "cPickle",
    "joblib",
    "cloudpickle",
    "dill",
    "shelve",
    "marshal",
}
UNSAFE_CALLS = {"read_pickle", "to_pickle", "load_pickle"}


def test_no_pickle_anywhere_in_the_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            if set(names) & UNSAFE_MODULES:
                offenders.append(f"{path.relative_to(PROJECT)}:{node.lineno} imports {names}")
            if isinstance(node, ast.Attribute) and node.attr in UNSAFE_CALLS:
                offenders.append(f"{path.relative_to(PROJECT)}:{node.lineno} calls {node.attr}")
    assert not offenders, offenders


# --- SQL built from user input -----------------------------------------------------------------


def _table_counts(warehouse: str) -> dict[str, int]:
    with connect(warehouse, read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for (t,) in tables}


@pytest.fixture
def lineage_warehouse(champion_warehouse, historical_passengers) -> str:
    """The champion plus the historical features table the lineage lookup reads."""
    from titanic_assets.core.features import build_features
    from titanic_assets.data_layer.feature_store import HISTORICAL_FEATURES, ensure_feature_store

    features = build_features(historical_passengers)
    with connect(champion_warehouse) as conn:
        ensure_feature_store(conn)
        conn.register("f", features)
        conn.execute(f"INSERT INTO {HISTORICAL_FEATURES} BY NAME SELECT * FROM f")
    return champion_warehouse


@pytest.mark.parametrize("passenger_id", MALICIOUS)
def test_lineage_lookup_is_parameterised(
    lineage_warehouse, passenger_id, monkeypatch, capsys, titanic3_raw
):
    first = normalise_source(titanic3_raw)[0]["passenger_id"].iloc[0]
    before = _table_counts(lineage_warehouse)
    assert before["features.historical_features"] == 1309
    with connect(lineage_warehouse) as conn:  # read-write: a DROP would succeed if it ran
        with pytest.raises(PassengerNotFoundError):
            passenger_lineage(conn, passenger_id)
        assert passenger_lineage(conn, first)["features"] is not None

    monkeypatch.setenv("TITANIC_DUCKDB", lineage_warehouse)
    code = cli.main(["lineage", passenger_id])
    _, err = capsys.readouterr()
    assert code == cli.EXIT_UNAVAILABLE and "no passenger with id" in err
    assert _table_counts(lineage_warehouse) == before


@pytest.mark.parametrize("version", [*MALICIOUS, "1 OR 1=1", "1.5", ""])
def test_registry_version_lookup_is_parameterised(champion_warehouse, version):
    before = _table_counts(champion_warehouse)
    with connect(champion_warehouse) as conn, pytest.raises(registry.ModelNotFoundError):
        registry.get_version(conn, version)
    assert _table_counts(champion_warehouse) == before


# --- the UI binds to loopback ------------------------------------------------------------------


def _make_dry_run(*assignments: str) -> str:
    done = subprocess.run(
        ["make", "-n", "dev", *assignments],
        cwd=PROJECT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return next(line for line in done.stdout.splitlines() if " dev " in line)


def test_dev_server_binds_loopback_unless_told_otherwise():
    default = _make_dry_run()
    assert "dagster dev -h 127.0.0.1 " in default, default
    chosen = _make_dry_run("HOST=0.0.0.0")
    assert "dagster dev -h 0.0.0.0 " in chosen, chosen


def test_workspace_loads_code_in_process_not_from_a_remote_server():
    import yaml

    workspace = yaml.safe_load((PROJECT / "workspace.yaml").read_text())
    assert [list(entry) for entry in workspace["load_from"]] == [["python_module"]]
    text = (PROJECT / "workspace.yaml").read_text() + (PROJECT / "dagster.yaml").read_text()
    assert "0.0.0.0" not in text

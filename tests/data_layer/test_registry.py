"""Model registry: versions, verified artifacts, one champion, promotion log and rollback."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from titanic_assets.core.features import FEATURE_COLUMNS
from titanic_assets.core.model import TrainingParams, model_to_bytes, predict_proba, train_model
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.warehouse import connect


@pytest.fixture(scope="module")
def frame(historical_features: pd.DataFrame) -> pd.DataFrame:
    """The titanic3 list as feature rows (a copy of the session's)."""
    return historical_features.copy()


@pytest.fixture(scope="module")
def model_bytes(frame) -> bytes:
    return model_to_bytes(train_model(frame, TrainingParams(n_estimators=10)))


@pytest.fixture
def conn(tmp_path):
    with connect(str(tmp_path / "wh.duckdb")) as c:
        registry.ensure_registry(c)
        yield c


def _register(conn, model_bytes, accuracy=0.8, run_id="run-1") -> int:
    return registry.register_version(
        conn,
        model_bytes=model_bytes,
        params=TrainingParams(n_estimators=10).to_dict(),
        features=list(FEATURE_COLUMNS),
        metrics={"accuracy": accuracy, "f1": 0.7, "roc_auc": 0.85, "log_loss": 0.45},
        training_rows=1000,
        training_cutoff=datetime(1912, 4, 11, 12),
        training_data_hash="abc123",
        training_profile={"rows": 1000, "columns": {}},
        run_id=run_id,
    )


def test_register_list_get_and_round_trip(conn, model_bytes, frame):
    assert registry.champion(conn) is None
    assert registry.list_versions(conn).empty
    assert _register(conn, model_bytes) == 1
    assert _register(conn, model_bytes, 0.81) == 2
    listed = registry.list_versions(conn)
    assert listed["version"].tolist() == [1, 2]
    assert "artifact" not in listed.columns
    v = registry.get_version(conn, 2)
    assert v.accuracy == 0.81 and v.features == list(FEATURE_COLUMNS) and not v.is_champion
    assert v.training_cutoff == datetime(1912, 4, 11, 12) and v.run_id == "run-1"
    assert v.params["n_estimators"] == 10 and v.metrics["log_loss"] == 0.45
    _, model = registry.load_model(conn, 2)
    expected = predict_proba(train_model(frame, TrainingParams(n_estimators=10)), frame)
    assert np.array_equal(predict_proba(model, frame), expected)
    assert registry.promotions(conn)["action"].tolist() == ["register", "register"]


def test_no_champion_errors(conn, model_bytes):
    with pytest.raises(registry.NoChampionError):
        registry.load_champion(conn)
    with pytest.raises(registry.ModelNotFoundError, match="does not exist"):
        registry.get_version(conn, 7)


def test_exactly_one_champion_and_rollback(conn, model_bytes):
    for _ in range(3):
        _register(conn, model_bytes)
    for version in (1, 2, 3):
        registry.promote(conn, version, f"promote {version}", run_id="r")
        assert registry.champion(conn).version == version
        assert registry.list_versions(conn)["is_champion"].sum() == 1
    assert registry.rollback(conn, "v3 is bad") == 2
    assert registry.load_champion(conn)[0].version == 2
    assert registry.rollback(conn, "v2 too") == 1
    with pytest.raises(registry.RegistryError, match="no previous champion"):
        registry.rollback(conn, "nothing before v1")
    assert registry.champion(conn).version == 1
    log = registry.promotions(conn)
    assert log["action"].tolist()[-2:] == ["rollback", "rollback"]
    assert log["previous_champion"].tolist()[-2:] == [3, 2]


def test_promoting_a_missing_version_changes_nothing(conn, model_bytes):
    _register(conn, model_bytes)
    registry.promote(conn, 1, "first")
    before = registry.promotions(conn)
    with pytest.raises(registry.ModelNotFoundError, match=r"version 42: .*known versions: \[1\]"):
        registry.promote(conn, 42, "typo")
    assert registry.champion(conn).version == 1
    assert len(registry.promotions(conn)) == len(before)


def test_tampered_artifact_is_refused(conn, model_bytes):
    _register(conn, model_bytes)
    registry.promote(conn, 1, "first")
    tampered = model_bytes[:-20] + bytes([model_bytes[-20] ^ 1]) + model_bytes[-19:]
    conn.execute("UPDATE models.model_versions SET artifact = ? WHERE version = 1", [tampered])
    with pytest.raises(registry.ArtifactIntegrityError, match="SHA-256"):
        registry.load_model(conn, 1)
    with pytest.raises(registry.ArtifactIntegrityError):
        registry.load_champion(conn)
    assert registry.champion(conn).version == 1  # refused, not silently swapped


def test_unloadable_artifact_with_matching_hash_is_refused(conn):
    junk = b"not a model"
    registry.register_version(
        conn, model_bytes=junk, params={}, features=["pclass"], metrics={"accuracy": 0, "f1": 0},
        training_rows=1, training_cutoff=None, training_data_hash="x", training_profile={},
        run_id=None,
    )  # fmt: skip
    with pytest.raises(registry.ArtifactIntegrityError, match="not a loadable"):
        registry.load_model(conn, 1)


def test_leaky_features_and_bad_metrics_are_refused(conn, model_bytes):
    kwargs = dict(
        model_bytes=model_bytes, params={}, metrics={"accuracy": 0.9, "f1": 0.9},
        training_rows=1, training_cutoff=None, training_data_hash="x", training_profile={},
        run_id=None,
    )  # fmt: skip
    with pytest.raises(registry.RegistryError, match="forbidden"):
        registry.register_version(conn, features=["pclass", "boat"], **kwargs)
    with pytest.raises(registry.RegistryError, match="f1"):
        registry.register_version(
            conn, features=["pclass"], **{**kwargs, "metrics": {"accuracy": 1}}
        )
    assert registry.list_versions(conn).empty


def test_a_failure_inside_registration_rolls_back(conn, model_bytes, monkeypatch):
    _register(conn, model_bytes)
    registry.promote(conn, 1, "first")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(registry, "_log", boom)
    with pytest.raises(RuntimeError):
        _register(conn, model_bytes)
    with pytest.raises(RuntimeError):
        registry.promote(conn, 1, "again")
    assert registry.list_versions(conn)["version"].tolist() == [1]
    assert registry.champion(conn).version == 1


def test_read_only_connection_reads_without_creating(tmp_path, model_bytes):
    path = str(tmp_path / "wh.duckdb")
    with connect(path) as c:
        c.execute("CREATE SCHEMA IF NOT EXISTS features")
    with connect(path, read_only=True) as ro:
        assert registry.champion(ro) is None
        assert registry.list_versions(ro).empty
        with pytest.raises(registry.NoChampionError):
            registry.load_champion(ro)


def test_a_registry_from_before_signing_is_migrated_and_its_versions_refused(tmp_path, model_bytes):
    """Old warehouses gain the new columns and the champion state; unsigned rows never load."""
    with connect(str(tmp_path / "old.duckdb")) as old:
        old.execute("CREATE SCHEMA models")
        old.execute(
            "CREATE TABLE models.model_versions (version INTEGER PRIMARY KEY, created_at "
            "TIMESTAMP NOT NULL, is_champion BOOLEAN NOT NULL, accuracy DOUBLE NOT NULL, f1 DOUBLE "
            "NOT NULL, roc_auc DOUBLE, params JSON NOT NULL, features JSON NOT NULL, metrics JSON "
            "NOT NULL, training_rows BIGINT NOT NULL, training_cutoff TIMESTAMP, "
            "training_data_hash VARCHAR NOT NULL, training_profile JSON NOT NULL, artifact BLOB "
            "NOT NULL, artifact_sha256 VARCHAR NOT NULL, artifact_format VARCHAR NOT NULL, "
            "run_id VARCHAR)"
        )
        old.execute(
            "CREATE TABLE models.promotions (event_id INTEGER PRIMARY KEY, version INTEGER NOT "
            "NULL, action VARCHAR NOT NULL, reason VARCHAR, decided_at TIMESTAMP NOT NULL, "
            "run_id VARCHAR, previous_champion INTEGER)"
        )
        old.execute(
            "INSERT INTO models.model_versions VALUES (1, now(), true, 0.8, 0.7, 0.85, '{}', ?, "
            "'{}', 10, NULL, 'h', '{}', ?, ?, 'xgboost-ubj', 'r')",
            [json.dumps(list(FEATURE_COLUMNS)), model_bytes, registry.sha256_hex(model_bytes)],
        )
        registry.ensure_registry(old)
        state = old.execute("SELECT version, generation FROM models.champion_state").fetchall()
        assert state == [(1, 0)]
        assert registry.champion(old).signature is None
        with pytest.raises(registry.ArtifactIntegrityError, match="unsigned"):
            registry.load_champion(old)
        assert _register(old, model_bytes) == 2  # new versions are signed and load
        assert registry.load_model(old, 2)[0].training_window is None


def test_the_signature_binds_version_feature_list_and_artifact(model_bytes):
    """Each of the three signed parts changes the signature on its own."""
    from titanic_assets.data_layer import signing

    key = b"k" * 40
    features = list(FEATURE_COLUMNS)
    base = signing.sign(1, features, model_bytes, key)
    assert signing.verify(1, features, model_bytes, base, key)
    assert signing.sign(2, features, model_bytes, key) != base
    assert signing.sign(1, features[::-1], model_bytes, key) != base
    assert signing.sign(1, features[:-1], model_bytes, key) != base
    assert signing.sign(1, features, model_bytes + b" ", key) != base
    assert signing.sign(1, features, model_bytes, b"j" * 40) != base
    assert not signing.verify(2, features, model_bytes, base, key)
    assert not signing.verify(1, features[::-1], model_bytes, base, key)


def test_a_signed_artifact_moved_to_another_version_is_refused(conn, model_bytes, frame):
    """Copying v1's artifact, checksum and signature over v2 leaves v2 unloadable."""
    other = model_to_bytes(train_model(frame, TrainingParams(n_estimators=3)))
    _register(conn, model_bytes)
    _register(conn, other)
    conn.execute(
        "UPDATE models.model_versions AS target SET artifact = source.artifact, "
        "artifact_sha256 = source.artifact_sha256, signature = source.signature "
        "FROM models.model_versions AS source WHERE source.version = 1 AND target.version = 2"
    )
    with pytest.raises(registry.ArtifactIntegrityError, match="version 2: signature does not"):
        registry.load_model(conn, 2)
    assert registry.load_model(conn, 1)[0].version == 1  # the original still loads


def test_an_edited_feature_list_is_refused(conn, model_bytes):
    """Reordering the signed column list (the model would read columns by the wrong name)."""
    _register(conn, model_bytes)
    registry.load_model(conn, 1)
    edited = json.dumps(list(FEATURE_COLUMNS)[::-1])
    conn.execute("UPDATE models.model_versions SET features = ? WHERE version = 1", [edited])
    assert registry.get_version(conn, 1).features == list(FEATURE_COLUMNS)[::-1]
    with pytest.raises(registry.ArtifactIntegrityError, match="signature does not verify"):
        registry.load_model(conn, 1)


def test_discard_versions_after_returns_a_kept_benchmark_registry_to_its_build(conn, model_bytes):
    for accuracy in (0.8, 0.81, 0.82):
        _register(conn, model_bytes, accuracy=accuracy)
    registry.promote(conn, 1, "built")
    registry.promote(conn, 3, "a measured training run won")
    assert registry.discard_versions_after(conn, 1, "measured with the build's champion") == [2, 3]
    assert registry.list_versions(conn)["version"].tolist() == [1]
    assert registry.champion(conn).version == 1
    # No event names a dropped version, so a rollback has nothing of theirs to land on.
    log = registry.promotions(conn)
    assert set(log["version"]) == {1} and not (log["previous_champion"] > 1).any()
    assert registry.discard_versions_after(conn, 1, "again") == []
    with pytest.raises(registry.ModelNotFoundError, match="version 4"):
        registry.discard_versions_after(conn, 4, "none")

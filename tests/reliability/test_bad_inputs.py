"""The bad input catalog: every class of bad input, at every door, gets a clear answer.

Doors: the historical backfill (a user's CSV through the ``historical_backfill`` job), the
synthetic generator's run config, the training run config, and ``titanic predict``. Each bad
input must end in either a ``dagster.Failure`` / config error whose message names the problem,
or rejected-row records with reasons, and for files: rows in = accepted + rejected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from titanic_assets import cli, names
from titanic_assets.data_layer.warehouse import connect, table_exists
from titanic_assets.definitions import build_definitions

LARGE_ROWS = 200_000
LARGE_BAD_EVERY = 997  # every 997th row of the large file gets an unparseable age

# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fails:
    """The run fails with a handled error whose message contains every one of ``words``."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Rejects:
    """The run succeeds; exactly ``rows`` rows are rejected, each reason containing ``reason``."""

    rows: int
    reason: str


def failure_of(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """(class, message) of the first step failure, unwrapping Dagster's step wrapper."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
                error = error.cause
            return error.cls_name, error.message
    raise AssertionError("the run did not fail")


def assert_names(message: str, words: tuple[str, ...]) -> None:
    lowered = message.lower()
    missing = [w for w in words if w.lower() not in lowered]
    assert not missing, f"message does not name {missing}: {message}"


def count(warehouse: str, table: str) -> int:
    if not Path(warehouse).exists():
        return 0
    with connect(warehouse, read_only=True) as conn:
        if not table_exists(conn, table):
            return 0
        return conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


# --- the backfill ----------------------------------------------------------------------------


def kaggle(raw: pd.DataFrame, n: int = 50) -> pd.DataFrame:
    """The first ``n`` titanic3 passengers in Kaggle's shape."""
    rows = raw.head(n).replace("?", "")
    return pd.DataFrame(
        {
            "PassengerId": [str(i) for i in range(1, n + 1)],
            "Survived": rows["survived"],
            "Pclass": rows["pclass"],
            "Name": rows["name"],
            "Sex": rows["sex"],
            "Age": rows["age"],
            "SibSp": rows["sibsp"],
            "Parch": rows["parch"],
            "Ticket": rows["ticket"],
            "Fare": rows["fare"],
            "Cabin": rows["cabin"],
            "Embarked": rows["embarked"],
        }
    ).reset_index(drop=True)


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def blob(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def with_cells(frame: pd.DataFrame, cells: dict[tuple[int, str], str]) -> pd.DataFrame:
    out = frame.copy()
    for (row, column), value in cells.items():
        out.loc[row, column] = value
    return out


def non_utf8(path: Path, raw: pd.DataFrame) -> Path:
    frame = kaggle(raw, 10)
    frame.loc[3, "Name"] = "Lef\u00e8vre, Mme. Marie"
    path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    return path


def large(path: Path, raw: pd.DataFrame) -> Path:
    repeats = math.ceil(LARGE_ROWS / len(raw))
    frame = pd.concat([raw] * repeats, ignore_index=True).head(LARGE_ROWS)
    frame.loc[frame.index % LARGE_BAD_EVERY == 0, "age"] = "abc"
    return write(path, frame)


Builder = Callable[[Path, pd.DataFrame], Path]

BACKFILL_CASES: dict[str, tuple[Builder, Fails | Rejects]] = {
    "missing file": (lambda p, raw: p / "nope.csv", Fails(("not found", "nope.csv"))),
    "directory": (lambda p, raw: p, Fails(("directory",))),
    "empty file": (
        lambda p, raw: blob(p / "empty.csv", b""),
        Fails(("empty", "0 bytes")),
    ),
    "blank lines only": (
        lambda p, raw: blob(p / "blank.csv", b"\n\n\n"),
        Fails(("no header",)),
    ),
    "header only": (
        lambda p, raw: write(p / "header.csv", kaggle(raw).head(0)),
        Fails(("header but no passenger rows",)),
    ),
    "missing column": (
        lambda p, raw: write(p / "nosex.csv", kaggle(raw).drop(columns=["Sex"])),
        Fails(("no known titanic shape", "missing ['Sex']")),
    ),
    # Extra columns are kept in the raw table and ignored downstream (never a model input).
    "extra column": (
        lambda p, raw: write(p / "extra.csv", kaggle(raw).assign(FavouriteColour="blue")),
        Rejects(0, ""),
    ),
    "extra derived columns, no name or ticket": (
        lambda p, raw: write(
            p / "derived.csv",
            raw.drop(columns=["name", "ticket"]).assign(
                deck="C", who="man", alive=raw["survived"].map({"1": "yes", "0": "no"})
            ),
        ),
        Rejects(0, ""),
    ),
    "missing column plus extras": (
        lambda p, raw: write(p / "nosex2.csv", kaggle(raw).drop(columns=["Sex"]).assign(deck="C")),
        Fails(("no known titanic shape", "missing ['Sex']", "unexpected ['deck']")),
    ),
    "renamed column": (
        lambda p, raw: write(p / "renamed.csv", kaggle(raw).rename(columns={"Sex": "Gender"})),
        Fails(("missing ['Sex']", "unexpected ['Gender']")),
    ),
    "not a csv": (
        lambda p, raw: blob(p / "blob.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
        Fails(("UTF-8",)),
    ),
    "malformed quoting": (
        lambda p, raw: blob(
            p / "quotes.csv",
            (
                kaggle(raw, 3).to_csv(index=False) + '4,1,"unterminated,female,30,0,0,x,10,,S\n'
            ).encode(),
        ),
        Fails(("malformed",)),
    ),
    "non-UTF-8 bytes": (lambda p, raw: non_utf8(p / "latin1.csv", raw), Fails(("not UTF-8",))),
    "every row bad": (
        lambda p, raw: write(p / "allbad.csv", kaggle(raw, 5).assign(Sex="robot")),
        Fails(("no row", "valid passenger", "sex must be")),
    ),
    "wrong types": (
        lambda p, raw: write(
            p / "types.csv",
            with_cells(
                kaggle(raw),
                {
                    (1, "Age"): "twenty",
                    (2, "Fare"): "cheap",
                    (3, "Pclass"): "first",
                    (4, "SibSp"): "1.5",
                    (5, "Survived"): "yes",
                },
            ),
        ),
        Rejects(5, "(got '"),
    ),
    "out-of-range values": (
        lambda p, raw: write(
            p / "ranges.csv",
            with_cells(
                kaggle(raw),
                {
                    (1, "Age"): "300",
                    (2, "Fare"): "-5",
                    (3, "Pclass"): "4",
                    (4, "Sex"): "robot",
                    (5, "Embarked"): "X",
                    (6, "Parch"): "-1",
                    (7, "Age"): "-1",
                },
            ),
        ),
        Rejects(7, "must be"),
    ),
    "duplicate ids": (
        lambda p, raw: write(
            p / "dups.csv",
            with_cells(kaggle(raw), {(1, "PassengerId"): "1", (9, "PassengerId"): "9"}),
        ),
        Rejects(4, "passenger_id is duplicated"),
    ),
    "missing id": (
        lambda p, raw: write(p / "noid.csv", with_cells(kaggle(raw), {(4, "PassengerId"): ""})),
        Rejects(1, "passenger_id is missing"),
    ),
    "very large file": (
        lambda p, raw: large(p / "large.csv", raw),
        Rejects(math.ceil(LARGE_ROWS / LARGE_BAD_EVERY), "age is not a number"),
    ),
}


#: Cases that take most of the module's time; `pytest -m "not slow"` leaves them out.
SLOW_CASES = {"very large file"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CASES else c for c in BACKFILL_CASES],
)
def test_backfill_bad_input(case, tmp_path, titanic3_raw):
    build, expected = BACKFILL_CASES[case]
    source = build(tmp_path, titanic3_raw)
    warehouse = str(tmp_path / "warehouse.duckdb")
    defs = build_definitions(warehouse)
    config = {"ops": {"historical_passengers": {"config": {"source_csv": str(source)}}}}
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("historical_backfill").execute_in_process(
            instance=instance, run_config=config, raise_on_error=False
        )
    if isinstance(expected, Fails):
        assert not result.success
        cls_name, message = failure_of(result)
        assert cls_name == "Failure", f"unhandled {cls_name}: {message}"
        assert_names(message, expected.words)
        assert count(warehouse, "features.raw_historical_passengers") == 0  # nothing half-loaded
        return

    assert result.success, failure_of(result)
    rows_in = sum(1 for _ in source.open("rb")) - 1  # no embedded newlines in these files
    raw_rows = count(warehouse, "features.raw_historical_passengers")
    accepted = count(warehouse, "features.historical_passengers")
    rejected = count(warehouse, "features.rejected_historical_passengers")
    assert raw_rows == rows_in == accepted + rejected
    assert rejected == expected.rows
    with connect(warehouse, read_only=True) as conn:
        reasons = [
            r[0]
            for r in conn.execute(
                "SELECT reject_reasons FROM features.rejected_historical_passengers"
            ).fetchall()
        ]
        served = conn.execute(
            "SELECT count(*) FROM features.passenger_features WHERE source = 'historical'"
        ).fetchall()[0][0]
    assert all(expected.reason in r for r in reasons), reasons[:5]
    assert served == accepted  # the rejected never reach the feature store


# --- generator and training configs ----------------------------------------------------------

HOUR = "2026-11-05-01:00"
SYNTH = names.SYNTHETIC_PASSENGERS_OP
TRAIN_DATA = names.TRAINING_DATA_OP
MODEL = names.MODEL_VERSIONS_OP
DROP = "x'; DROP TABLE features.historical_features; --"

CONFIG_CASES: dict[str, tuple[str, str, dict, tuple[str, ...]]] = {
    # name: (job, op, op config, words the error must contain)
    "negative passengers_per_hour": ("feature_pipeline", SYNTH, {"passengers_per_hour": -5},
                                     ("passengers_per_hour", "greater than or equal to 0")),
    "absurd passengers_per_hour": ("feature_pipeline", SYNTH, {"passengers_per_hour": 10**12},
                                   ("passengers_per_hour", "less than or equal")),
    "passengers_per_hour not a number": ("feature_pipeline", SYNTH, {"passengers_per_hour": "many"},
                                         ("passengers_per_hour",)),
    "unknown config key": ("feature_pipeline", SYNTH, {"passengers_per_day": 5},
                           ("passengers_per_day",)),
    "drift unknown class": ("feature_pipeline", SYNTH, {"drift_pclass_weights": {"4": 2.0}},
                            ("pclass_weights", "unknown classes [4]")),
    "drift class not a number": ("feature_pipeline", SYNTH,
                                 {"drift_pclass_weights": {"first": 2.0}},
                                 ("drift_pclass_weights keys must be 1, 2 or 3",)),
    "drift negative weight": ("feature_pipeline", SYNTH, {"drift_pclass_weights": {"1": -1.0}},
                              ("pclass_weights must be non-negative",)),
    "drift all weights zero": ("feature_pipeline", SYNTH,
                               {"drift_pclass_weights": {"1": 0.0, "2": 0.0, "3": 0.0}},
                               ("leave no passenger class",)),
    "drift infinite weight": ("feature_pipeline", SYNTH,
                              {"drift_pclass_weights": {"1": float("inf")}},
                              ("pclass_weights[1]", "finite")),
    "drift concept shift > 1": ("feature_pipeline", SYNTH, {"drift_concept_shift": 2.0},
                                ("concept_shift", "0..1")),
    "drift age shift absurd": ("feature_pipeline", SYNTH, {"drift_age_shift_years": 500.0},
                               ("age_shift_years", "-50..50")),
    "drift age shift NaN": ("feature_pipeline", SYNTH, {"drift_age_shift_years": float("nan")},
                            ("age_shift_years", "finite")),
    "cutoff not a date": ("training_pipeline", TRAIN_DATA, {"cutoff": "not-a-date"},
                          ("cutoff", "not an ISO timestamp")),
    "cutoff impossible date": ("training_pipeline", TRAIN_DATA, {"cutoff": "2026-13-45"},
                               ("cutoff", "not an ISO timestamp")),
    "cutoff SQL injection": ("training_pipeline", TRAIN_DATA, {"cutoff": DROP},
                             ("cutoff", "not an ISO timestamp")),
    "cutoff before any passenger": ("training_pipeline", TRAIN_DATA, {"cutoff": "1900-01-01"},
                                    ("only 0 labelled passengers", "at least 50")),
    "too few rows for min_rows": ("training_pipeline", TRAIN_DATA, {"min_rows": 10**6},
                                  ("labelled passengers", "at least 1000000")),
    "min_rows too small": ("training_pipeline", TRAIN_DATA, {"min_rows": 5},
                           ("min_rows", "greater than or equal to 10")),
    "absurd n_estimators": ("training_pipeline", MODEL, {"n_estimators": 10**9},
                            ("n_estimators", "less than or equal to 5000")),
    "zero max_depth": ("training_pipeline", MODEL, {"max_depth": 0},
                       ("max_depth", "greater than or equal to 1")),
    "learning_rate 50": ("training_pipeline", MODEL, {"learning_rate": 50.0},
                         ("learning_rate", "less than or equal to 1")),
    "learning_rate NaN": ("training_pipeline", MODEL, {"learning_rate": float("nan")},
                          ("learning_rate",)),
    "subsample 0": ("training_pipeline", MODEL, {"subsample": 0.0},
                    ("subsample", "greater than 0")),
    "cv_folds 1": ("training_pipeline", MODEL, {"cv_folds": 1},
                   ("cv_folds", "greater than or equal to 2")),
}  # fmt: skip


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    warehouse = str(tmp_path_factory.mktemp("configs") / "warehouse.duckdb")
    defs = build_definitions(warehouse)
    with dg.instance_for_test() as instance:
        assert (
            defs.resolve_job_def("historical_backfill")
            .execute_in_process(instance=instance)
            .success
        )
    return warehouse, defs


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_config_bad_input(case, backfilled):
    warehouse, defs = backfilled
    job, op, op_config, words = CONFIG_CASES[case]
    kwargs = {"partition_key": HOUR} if job == "feature_pipeline" else {}
    run_config = {"ops": {op: {"config": op_config}}}
    with dg.instance_for_test() as instance:
        try:
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False, **kwargs
            )
        except dg.DagsterInvalidConfigError as error:  # refused at launch: best of all
            assert_names(str(error), words)
            return
    assert not result.success
    cls_name, message = failure_of(result)
    # A pydantic ValidationError is Dagster's own report of a Config field constraint (raised
    # when the step builds its config); it names the field and the bound.
    assert cls_name in {"Failure", "ValidationError"}, f"unhandled {cls_name}: {message}"
    assert_names(message, words)
    # Nothing was written by the refused run: no hour, no model version, history intact.
    assert count(warehouse, "features.synthetic_passengers") == 0
    assert count(warehouse, "models.model_versions") == 0
    assert count(warehouse, "features.historical_features") == 1309


# --- titanic predict -------------------------------------------------------------------------

GOOD = {"pclass": "1", "sex": "female", "age": "29", "fare": "80", "embarked": "S",
        "sibsp": "0", "parch": "0"}  # fmt: skip

PREDICT_CASES = [
    ("pclass", "4"), ("pclass", "first"), ("pclass", ""), ("pclass", "1.5"),
    ("sex", "robot"), ("sex", ""), ("age", "-1"), ("age", "150"), ("age", "abc"),
    ("age", "nan"), ("age", "inf"), ("fare", "-3"), ("fare", "1e309"), ("fare", "NaN"),
    ("embarked", "X"), ("embarked", "Southampton"), ("sibsp", "1.5"), ("sibsp", "99"),
    ("parch", "-1"), ("parch", "two"), ("pclass", DROP), ("sex", "f\u00e9male\x00"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), PREDICT_CASES)
def test_predict_bad_input(field, value, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TITANIC_DUCKDB", str(tmp_path / "absent.duckdb"))
    args = {**GOOD, field: value}
    argv = ["predict", *[a for k, v in args.items() for a in (f"--{k}", v)]]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == cli.EXIT_BAD_INPUT
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"--{field}" in lines[0], err
    assert "Traceback" not in err

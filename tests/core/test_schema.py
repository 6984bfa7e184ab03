"""Source shapes, normalisation and row-level validation of passengers."""

import pandas as pd
import pytest

from titanic_assets.core.schema import (
    PASSENGER_COLUMNS,
    SourceShapeError,
    detect_shape,
    normalise_source,
    validate_passengers,
)


def kaggle_frame(titanic3_raw: pd.DataFrame, n: int = 891) -> pd.DataFrame:
    """A Kaggle-shaped file made from real rows (same people, Kaggle's column names)."""
    rows = titanic3_raw.head(n)
    return pd.DataFrame(
        {
            "PassengerId": [str(i) for i in range(1, n + 1)],
            "Survived": rows["survived"].to_numpy(),
            "Pclass": rows["pclass"].to_numpy(),
            "Name": rows["name"].to_numpy(),
            "Sex": rows["sex"].to_numpy(),
            "Age": rows["age"].replace("?", "").to_numpy(),
            "SibSp": rows["sibsp"].to_numpy(),
            "Parch": rows["parch"].to_numpy(),
            "Ticket": rows["ticket"].to_numpy(),
            "Fare": rows["fare"].replace("?", "").to_numpy(),
            "Cabin": rows["cabin"].replace("?", "").to_numpy(),
            "Embarked": rows["embarked"].replace("?", "").to_numpy(),
        }
    )


def test_titanic3_shape_normalises_all_rows(titanic3_raw):
    passengers, shape = normalise_source(titanic3_raw)
    accepted, rejected = validate_passengers(passengers, titanic3_raw)
    assert shape == "titanic3"
    assert (len(accepted), len(rejected)) == (1309, 0)
    assert list(accepted.columns) == list(PASSENGER_COLUMNS)
    assert accepted["passenger_id"].is_unique
    assert accepted["survived"].mean() == pytest.approx(0.382, abs=0.001)
    assert accepted["event_time"].notna().all()
    assert accepted["event_time"].dt.year.eq(1912).all()


def test_kaggle_shape_normalises_with_its_own_ids(titanic3_raw):
    raw = kaggle_frame(titanic3_raw)
    passengers, shape = normalise_source(raw)
    accepted, rejected = validate_passengers(passengers, raw)
    assert shape == "kaggle"
    assert len(accepted) + len(rejected) == 891
    assert rejected.empty
    assert accepted["passenger_id"].iloc[0] == "kaggle-1"


@pytest.mark.parametrize(
    ("drop", "add", "named"),
    [
        (["sex"], [], "missing ['sex']"),
        ([], ["favourite_colour"], "unexpected ['favourite_colour']"),
        (["fare", "age"], [], "missing ['age', 'fare']"),
    ],
)
def test_unknown_shape_names_missing_and_unexpected_columns(titanic3_raw, drop, add, named):
    raw = titanic3_raw.drop(columns=drop).assign(**dict.fromkeys(add, "x"))
    with pytest.raises(SourceShapeError) as error:
        detect_shape(raw.columns)
    assert named in str(error.value)


def test_renamed_column_is_reported(titanic3_raw):
    raw = titanic3_raw.rename(columns={"pclass": "class"})
    with pytest.raises(SourceShapeError, match=r"missing \['pclass'\].*unexpected \['class'\]"):
        normalise_source(raw)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("fare", "-5", "fare must be within 0..1000"),
        ("age", "300", "age must be within 0..100"),
        ("sex", "robot", "sex must be 'female' or 'male'"),
        ("embarked", "X", "embarked must be C, Q or S"),
        ("pclass", "4", "pclass must be 1, 2 or 3"),
        ("survived", "2", "survived must be 0 or 1"),
        ("age", "old", "age is not a number"),
        ("sibsp", "1.5", "sibsp must be an integer"),
    ],
)
def test_bad_values_are_rejected_with_reason_and_row(titanic3_raw, column, value, reason):
    raw = titanic3_raw.head(50).copy()
    raw.loc[7, column] = value
    passengers, _ = normalise_source(raw)
    accepted, rejected = validate_passengers(passengers, raw)
    assert len(accepted) + len(rejected) == 50
    assert rejected["passenger_id"].tolist() == ["titanic3-00008"]
    assert reason in rejected["reject_reasons"].iloc[0]
    assert repr(value) in rejected["reject_reasons"].iloc[0]


def test_duplicate_ids_reject_every_copy(titanic3_raw):
    raw = kaggle_frame(titanic3_raw, 30)
    raw.loc[5, "PassengerId"] = "1"
    passengers, _ = normalise_source(raw)
    accepted, rejected = validate_passengers(passengers, raw)
    assert sorted(rejected["passenger_id"]) == ["kaggle-1", "kaggle-1"]
    assert "passenger_id is duplicated" in rejected["reject_reasons"].iloc[0]
    assert len(accepted) == 28


def test_missing_optional_values_are_accepted(titanic3_raw):
    raw = titanic3_raw.head(10).copy()
    raw.loc[0, ["age", "fare", "embarked"]] = "?"
    passengers, _ = normalise_source(raw)
    accepted, rejected = validate_passengers(passengers, raw)
    assert rejected.empty
    assert pd.isna(accepted.loc[0, "age"]) and pd.isna(accepted.loc[0, "embarked"])

"""Source shapes, normalisation and row-level validation of passengers."""

import pandas as pd
import pytest

from titanic_assets.core.model import holdout_mask
from titanic_assets.core.schema import (
    PASSENGER_COLUMNS,
    SourceShapeError,
    detect_shape,
    extra_columns,
    label_leak_columns,
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
        (["sex"], ["favourite_colour"], "unexpected ['favourite_colour']"),
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
    assert rejected["passenger_id"].tolist() == [passengers["passenger_id"].iloc[7]]
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


def with_derived_columns(titanic3_raw: pd.DataFrame) -> pd.DataFrame:
    """titanic3 plus the derived columns popular copies of this data add (seaborn's among them)."""
    raw = titanic3_raw.copy()
    age = pd.to_numeric(raw["age"].replace("?", None))
    raw["class"] = raw["pclass"].map({"1": "First", "2": "Second", "3": "Third"})
    raw["deck"] = raw["cabin"].str[:1].replace({"?": ""})
    raw["embark_town"] = raw["embarked"].map(
        {"S": "Southampton", "C": "Cherbourg", "Q": "Queenstown"}
    )
    raw["who"] = ["child" if a < 16 else ("woman" if s == "female" else "man")
                  for a, s in zip(age.fillna(30), raw["sex"], strict=True)]  # fmt: skip
    raw["adult_male"] = (raw["who"] == "man").map({True: "True", False: "False"})
    raw["alive"] = raw["survived"].map({"1": "yes", "0": "no"})
    raw["alone"] = ((raw["sibsp"] == "0") & (raw["parch"] == "0")).astype(str)
    return raw


def test_extra_columns_are_accepted_and_never_normalised(titanic3_raw):
    raw = with_derived_columns(titanic3_raw)
    derived = ["class", "deck", "embark_town", "who", "adult_male", "alive", "alone"]
    shape = detect_shape(raw.columns)
    assert shape.name == "titanic3"
    assert extra_columns(raw.columns, shape) == derived
    passengers, _ = normalise_source(raw)
    accepted, rejected = validate_passengers(passengers, raw)
    assert (len(accepted), len(rejected)) == (1309, 0)
    assert list(accepted.columns) == list(PASSENGER_COLUMNS)  # no extra reaches a feature
    # Derived columns change no id (ids come from the known columns only).
    plain, _ = normalise_source(titanic3_raw)
    assert passengers["passenger_id"].tolist() == plain["passenger_id"].tolist()


def test_only_columns_that_restate_the_label_are_flagged(titanic3_raw):
    raw = with_derived_columns(titanic3_raw)
    raw["outcome_code"] = raw["survived"].map({"1": "S", "0": "D"})  # a leak under any name
    passengers, _ = normalise_source(raw)
    assert label_leak_columns(raw, passengers) == ["alive", "outcome_code"]
    assert label_leak_columns(titanic3_raw, normalise_source(titanic3_raw)[0]) == []


def test_kaggle_file_with_extras_keeps_its_own_ids(titanic3_raw):
    raw = kaggle_frame(titanic3_raw, 100).assign(Deck="C", alive="no")
    raw.loc[raw["Survived"] == "1", "alive"] = "yes"
    passengers, shape = normalise_source(raw)
    assert shape == "kaggle"
    assert passengers["passenger_id"].iloc[0] == "kaggle-1"
    assert label_leak_columns(raw, passengers) == ["alive"]


def test_reordering_the_file_changes_no_id_and_no_split(titanic3_raw):
    passengers, _ = normalise_source(titanic3_raw)
    shuffled = titanic3_raw.sample(frac=1.0, random_state=7)
    again, _ = normalise_source(shuffled.reset_index(drop=True))
    again.index = shuffled.index  # back to the original row of each passenger
    again = again.sort_index()
    assert again["passenger_id"].tolist() == passengers["passenger_id"].tolist()
    assert (holdout_mask(again["passenger_id"]) == holdout_mask(passengers["passenger_id"])).all()
    assert passengers["passenger_id"].is_unique
    assert passengers["passenger_id"].str.fullmatch(r"titanic3-[0-9a-f]{16}").all()


def test_without_name_and_ticket_ids_follow_the_row_fallback(titanic3_raw):
    raw = titanic3_raw.drop(columns=["name", "ticket", "cabin", "boat", "body", "home.dest"])
    twins = raw.iloc[[5, 5, 5]]  # true duplicates: identical in every column
    raw = pd.concat([raw, twins], ignore_index=True)
    passengers, _ = normalise_source(raw)
    assert passengers["passenger_id"].is_unique
    # The three copies of row 5 share the key; their suffixes tell them apart.
    copies = passengers["passenger_id"].iloc[[5, 1309, 1310, 1311]].tolist()
    assert copies[1:] == [f"{copies[0]}-2", f"{copies[0]}-3", f"{copies[0]}-4"]
    # Reordering gives the same set of (id, passenger) pairs.
    shuffled = raw.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again, _ = normalise_source(shuffled)
    columns = ["passenger_id", "pclass", "sex", "age", "fare", "survived"]
    key = ["passenger_id"]
    pd.testing.assert_frame_equal(
        passengers[columns].sort_values(key).reset_index(drop=True),
        again[columns].sort_values(key).reset_index(drop=True),
    )


def test_a_missing_name_falls_back_for_that_row_only(titanic3_raw):
    raw = titanic3_raw.head(20).copy()
    before, _ = normalise_source(raw)
    raw.loc[3, "name"] = "?"
    after, _ = normalise_source(raw)
    changed = before["passenger_id"] != after["passenger_id"]
    assert changed.tolist() == [i == 3 for i in range(20)]


def test_the_id_rule_is_pinned(titanic3_raw):
    """A change of the id rule would move passengers between train and holdout: pin it (and the
    example id the README and the CLI help show)."""
    passengers, _ = normalise_source(titanic3_raw)
    assert titanic3_raw.loc[0, "name"] == "Allen, Miss. Elisabeth Walton"
    assert passengers.loc[0, "passenger_id"] == "titanic3-41330420f6f5a8cf"


@pytest.mark.parametrize(
    ("ids", "duplicated"),
    [
        (["a", "b", "c"], []),  # text order: visibly unique
        (["x-9", "x-10", "x-11"], []),  # (length, text) order, as generated numbers grow
        (["b", "a", "c"], []),  # no order: hashed, unique
        (["a", "b", "a"], ["a", "a"]),  # a repeat after an ordered run
        (["x-10", "x-9", "x-10"], ["x-10", "x-10"]),
        (["a", None, "a"], ["a", "a"]),  # a missing id on the way
        (["x-8", "x-9", "x-10"], []),  # ordered runs: x-10 looked up in the run before it
        (["b", "c", "d", "b"], ["b", "b"]),  # ... and found there
        (["c", "d", "a", "a"], ["a", "a"]),  # the ids outside the run repeat each other
    ],
)
def test_duplicates_found_whatever_the_order(generated_like, ids, duplicated):
    passengers = generated_like(len(ids))
    passengers["passenger_id"] = pd.Series(ids, dtype=object)
    _, rejected = validate_passengers(passengers)
    flagged = [
        pid
        for pid, reasons in zip(rejected["passenger_id"], rejected["reject_reasons"], strict=True)
        if "passenger_id is duplicated" in reasons
    ]
    assert sorted(flagged) == duplicated


@pytest.fixture
def generated_like():
    def make(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "passenger_id": [f"p{i}" for i in range(n)],
                "event_time": pd.Timestamp("2026-11-02").as_unit("us"),
                "source": "synthetic",
                "batch_id": "2026-11-02-00:00",
                "pclass": 3,
                "sex": "male",
                "age": 30.0,
                "sibsp": 0,
                "parch": 0,
                "fare": 7.25,
                "embarked": "S",
                "survived": 0,
            }
        )[list(PASSENGER_COLUMNS)]

    return make


def test_accepted_text_columns_hold_none_for_missing_values_input_untouched():
    frame = pd.DataFrame(
        {
            "passenger_id": ["a", "b", "c"],
            "event_time": pd.Timestamp("2026-11-02").as_unit("us"),
            "source": pd.Series(["synthetic", float("nan"), "synthetic"], dtype=object),
            "batch_id": "2026-11-02-00:00",
            "pclass": 3,
            "sex": pd.Series(["male", "female", "male"], dtype="string"),
            "age": 30.0,
            "sibsp": 0,
            "parch": 0,
            "fare": 7.25,
            "embarked": pd.Series(["S", pd.NA, "C"], dtype="string"),
            "survived": 0,
        }
    )[list(PASSENGER_COLUMNS)]
    accepted, rejected = validate_passengers(frame)
    assert rejected.empty
    assert accepted["embarked"].tolist() == ["S", None, "C"]
    assert accepted["source"].tolist() == ["synthetic", None, "synthetic"]
    assert accepted["sex"].dtype == object and accepted["event_time"].dtype == "datetime64[us]"
    assert pd.isna(frame["source"].iloc[1]) and frame["source"].iloc[1] is not None  # untouched

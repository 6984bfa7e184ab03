"""The synthetic generator: deterministic per hour, realistic, and able to drift on request."""

from datetime import datetime

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from titanic_assets.core import generator as generator_module
from titanic_assets.core.features import FEATURE_COLUMNS, build_features
from titanic_assets.core.generator import (
    DriftSpec,
    PassengerGenerator,
    _fit_logistic,
    _numbered_ids,
    _survival_design,
    training_split,
)
from titanic_assets.core.model import holdout_mask
from titanic_assets.core.schema import PASSENGER_COLUMNS, validate_passengers

HOUR = datetime(2026, 11, 27, 5)


@pytest.fixture(scope="module")
def generator(historical_passengers):
    return PassengerGenerator.fit(historical_passengers)


def test_same_hour_same_passengers(generator):
    first = generator.generate(HOUR, 50, seed=3)
    assert first.equals(generator.generate(HOUR, 50, seed=3))
    assert not first.equals(generator.generate(datetime(2026, 11, 27, 6), 50, seed=3))
    assert not first["survived"].equals(generator.generate(HOUR, 50, seed=4)["survived"])


def test_passengers_are_valid_and_inside_their_hour(generator):
    passengers = generator.generate(HOUR, 500)
    accepted, rejected = validate_passengers(passengers)
    assert rejected.empty and len(accepted) == 500
    assert list(passengers.columns) == list(PASSENGER_COLUMNS)
    assert passengers["passenger_id"].is_unique
    assert passengers["event_time"].min() >= np.datetime64(HOUR)
    assert passengers["event_time"].max() < np.datetime64(datetime(2026, 11, 27, 6))
    assert set(passengers["source"]) == {"synthetic"}


def test_survival_depends_on_features_as_in_1912(generator):
    passengers = generator.generate(HOUR, 20_000)
    assert passengers["survived"].mean() == pytest.approx(0.382, abs=0.03)
    by_sex = passengers.groupby("sex")["survived"].mean()
    assert by_sex["female"] > 0.6 and by_sex["male"] < 0.3
    by_class = passengers.groupby("pclass")["survived"].mean()
    assert by_class[1] > by_class[2] > by_class[3]
    children = passengers[passengers["age"] < 10]["survived"].mean()
    adults = passengers[passengers["age"] >= 18]["survived"].mean()
    assert children > adults


def test_model_trained_on_history_scores_synthetic_within_ten_points(
    generator, historical_passengers
):
    features = build_features(historical_passengers)
    train, holdout = train_test_split(
        features, test_size=0.25, random_state=0, stratify=features["survived"]
    )
    columns = list(FEATURE_COLUMNS)
    model = XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.05, n_jobs=1)
    model.fit(train[columns], train["survived"])
    synthetic = build_features(generator.generate(HOUR, 5_000))
    holdout_accuracy = (model.predict(holdout[columns]) == holdout["survived"]).mean()
    synthetic_accuracy = (model.predict(synthetic[columns]) == synthetic["survived"]).mean()
    assert abs(holdout_accuracy - synthetic_accuracy) <= 0.10
    assert synthetic_accuracy > 0.70


def test_drift_shifts_the_population(generator):
    normal = generator.generate(HOUR, 5_000)
    drifted = generator.generate(
        HOUR, 5_000, drift=DriftSpec(pclass_weights={1: 6.0}, age_shift_years=15)
    )
    assert (drifted["pclass"] == 1).mean() > (normal["pclass"] == 1).mean() + 0.3
    assert drifted["age"].mean() > normal["age"].mean() + 10


def test_concept_drift_inverts_the_outcome_relationship(generator):
    drifted = generator.generate(HOUR, 5_000, drift=DriftSpec(concept_shift=1.0))
    by_sex = drifted.groupby("sex")["survived"].mean()
    assert by_sex["male"] > by_sex["female"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pclass_weights": {4: 1.0}}, "unknown classes"),
        ({"pclass_weights": {1: -1.0}}, "non-negative"),
        ({"concept_shift": 2.0}, "concept_shift"),
        ({"age_shift_years": 90}, "age_shift_years"),
    ],
)
def test_bad_drift_config_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DriftSpec(**kwargs)


def test_bad_sizes(generator, historical_passengers):
    with pytest.raises(ValueError, match=">= 0"):
        generator.generate(HOUR, -1)
    assert generator.generate(HOUR, 0).empty
    with pytest.raises(ValueError, match="at least 50"):
        PassengerGenerator.fit(historical_passengers.head(10))


def test_the_holdout_never_shapes_the_generator(generator, historical_passengers):
    """Fitted on the training split only: no holdout template, no holdout label used."""
    holdout = holdout_mask(historical_passengers["passenger_id"])
    assert 0 < holdout.sum() < len(historical_passengers)
    templates = set(generator.templates["passenger_id"])
    assert templates == set(historical_passengers.loc[~holdout, "passenger_id"])
    # Flip every holdout label: the learned survival model must not move at all.
    flipped = historical_passengers.copy()
    flipped.loc[holdout, "survived"] = 1 - flipped.loc[holdout, "survived"]
    refit = PassengerGenerator.fit(flipped)
    np.testing.assert_array_equal(refit.coefficients, generator.coefficients)
    assert refit.intercept == generator.intercept
    # ... while flipping training labels does move it (the check above can fail).
    flipped_train = historical_passengers.copy()
    flipped_train.loc[~holdout, "survived"] = 1 - flipped_train.loc[~holdout, "survived"]
    assert not np.allclose(
        PassengerGenerator.fit(flipped_train).coefficients, generator.coefficients
    )


@pytest.mark.parametrize("n", [1, 9, 10, 99, 100, 250])
def test_ids_are_the_formatted_numbers_across_a_digit_boundary(monkeypatch, n):
    """Ids as ``f"{prefix}{i:0<width>d}"``, also past 10**width and across blocks."""
    monkeypatch.setattr(generator_module, "_ID_BLOCK", 7)
    ids = _numbered_ids("syn-2026112705-", n, width=2)
    assert ids.dtype == object and all(type(i) is str for i in ids)
    assert list(ids) == [f"syn-2026112705-{i:02d}" for i in range(1, n + 1)]


def test_generated_ids_keep_their_format(generator):
    ids = generator.generate(HOUR, 3)["passenger_id"].tolist()
    assert ids == ["syn-2026112705-000001", "syn-2026112705-000002", "syn-2026112705-000003"]


def test_survival_model_is_scikit_learns_logistic_regression(generator, historical_passengers):
    """The Newton fit reaches the optimum L-BFGS approaches (same objective, C=1)."""
    from sklearn.linear_model import LogisticRegression

    train = training_split(historical_passengers)
    design = _survival_design(train, generator.age_fill)
    labels = train["survived"].to_numpy(float)
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=100_000).fit(design, labels)
    coefficients, intercept = _fit_logistic(design, labels)
    np.testing.assert_allclose(coefficients, reference.coef_[0], atol=1e-4)
    assert intercept == pytest.approx(reference.intercept_[0], abs=1e-4)
    np.testing.assert_allclose(generator.coefficients, coefficients)


def test_drawn_survival_is_the_models_probability(generator):
    """The per-template shortcut gives :meth:`survival_probability` of the drawn passengers."""
    passengers = generator.generate(HOUR, 2_000, drift=DriftSpec(age_shift_years=-20))
    expected = generator.survival_probability(passengers)
    assert 0.2 < expected.mean() < 0.6
    # Recompute through the shortcut from the same draws: a template with the drawn traits
    # (templates sharing them share the age-free logit) and the drawn age.
    shortcut = generator._survival_given_age
    index = {
        tuple(row): k
        for k, row in enumerate(
            generator.templates[["pclass", "sex", "sibsp", "parch", "fare", "embarked"]]
            .astype(str)
            .itertuples(index=False)
        )
    }
    keys = passengers[["pclass", "sex", "sibsp", "parch", "fare", "embarked"]].astype(str)
    picks = np.array([index[tuple(row)] for row in keys.itertuples(index=False)])
    np.testing.assert_allclose(
        shortcut(picks, passengers["age"].to_numpy()), expected, rtol=0, atol=1e-12
    )

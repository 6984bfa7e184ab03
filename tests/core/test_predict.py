"""One passenger on demand: input validation names the field (scoring: tests/data_layer)."""

from __future__ import annotations

import pytest

from titanic_assets.core.predict import PassengerInput, PassengerInputError

GOOD = {"pclass": 1, "sex": "female", "age": 29, "fare": 80, "embarked": "S"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pclass", 4),
        ("pclass", "first"),
        ("pclass", 1.5),
        ("sex", "unknown"),
        ("sex", None),
        ("age", 150),
        ("age", -1),
        ("age", "old"),
        ("fare", 1000.01),
        ("fare", "nan"),
        ("embarked", "X"),
        ("sibsp", 11),
        ("parch", 2.5),
    ],
)
def test_invalid_values_name_the_field(field, value) -> None:
    with pytest.raises(PassengerInputError) as caught:
        PassengerInput.parse(**{**GOOD, field: value})
    assert caught.value.field == field
    assert str(caught.value).startswith(field)
    assert isinstance(caught.value, ValueError)


def test_text_input_is_normalised_and_unknowns_allowed() -> None:
    p = PassengerInput.parse(pclass="3", sex="Male", age="", fare=None, embarked="q", sibsp="1")
    assert (p.pclass, p.sex, p.age, p.fare, p.embarked, p.sibsp, p.parch) == (
        3, "male", None, None, "Q", 1, 0,
    )  # fmt: skip
    with pytest.raises(PassengerInputError):
        PassengerInput(pclass=0, sex="male")  # direct construction is validated too

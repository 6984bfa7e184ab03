"""The passenger schema: the one normalised shape every source is brought into.

Two CSV shapes are common for the Titanic list: Kaggle's 891-row file (``PassengerId``,
``Survived``, ``Pclass`` ...) and the 1,309-row "titanic3" list (``pclass``, ``survived``, ...,
``boat``, ``body``, ``home.dest``). Both are mapped onto :data:`PASSENGER_COLUMNS`. Rows that
break the schema are not dropped: :func:`validate_passengers` splits a frame into accepted and
rejected rows, and every rejected row carries the reasons, so ``rows in = accepted + rejected``.

Columns beyond a shape (``class``, ``deck``, ``alive``...) are accepted and ignored here: only the
raw table keeps them, and :func:`label_leak_columns` names those that restate the label. Ids never
depend on row order: Kaggle files bring ``PassengerId``; titanic3 ids are derived from who the
passenger is (:func:`stable_passenger_ids`), so the train/holdout split, a hash of the id,
survives a reordered or re-exported file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from titanic_assets import names

SOURCE_HISTORICAL = "historical"
SOURCE_SYNTHETIC = "synthetic"
HISTORICAL_BATCH = names.HISTORICAL_BATCH

SEXES = ("female", "male")
PORTS = ("C", "Q", "S")
PCLASSES = (1, 2, 3)
AGE_RANGE = (0.0, 100.0)
FARE_RANGE = (0.0, 1000.0)
FAMILY_RANGE = (0, 10)

#: The normalised passenger, in column order. ``batch_id`` names the load that produced the row
#: (``historical`` or a synthetic hour) and is what data-quality results are recorded against.
PASSENGER_COLUMNS: tuple[str, ...] = (
    "passenger_id",
    "event_time",
    "source",
    "batch_id",
    "pclass",
    "sex",
    "age",
    "sibsp",
    "parch",
    "fare",
    "embarked",
    "survived",
)

#: Kaggle column -> normalised column.
KAGGLE_COLUMNS = {
    "PassengerId": "source_row_id",
    "Survived": "survived",
    "Pclass": "pclass",
    "Name": "name",
    "Sex": "sex",
    "Age": "age",
    "SibSp": "sibsp",
    "Parch": "parch",
    "Ticket": "ticket",
    "Fare": "fare",
    "Cabin": "cabin",
    "Embarked": "embarked",
}

#: titanic3 / OpenML column -> normalised column. ``boat``, ``body`` and ``home.dest`` are kept
#: in the raw table for inspection only: they are outcome leaks and never reach a feature.
TITANIC3_COLUMNS = {
    "pclass": "pclass",
    "survived": "survived",
    "name": "name",
    "sex": "sex",
    "age": "age",
    "sibsp": "sibsp",
    "parch": "parch",
    "ticket": "ticket",
    "fare": "fare",
    "cabin": "cabin",
    "embarked": "embarked",
    "boat": "boat",  # raw table only: an outcome leak, never a feature
    "body": "body",  # raw table only: an outcome leak, never a feature
    "home.dest": "home_dest",  # raw table only, never a feature
}
# Optional in a titanic3 file; none of these is ever a model input (see features.FORBIDDEN_INPUTS).
TITANIC3_OPTIONAL = frozenset({"boat", "body", "home.dest", "cabin", "name", "ticket"})
KAGGLE_OPTIONAL = frozenset({"Name", "Ticket", "Cabin"})

#: When the ship called at each port (UTC, naive). Historical passengers get their boarding
#: time as ``event_time`` so "latest" never depends on row order.
BOARDING_TIMES = {
    "S": datetime(1912, 4, 10, 12, 0),
    "C": datetime(1912, 4, 10, 19, 0),
    "Q": datetime(1912, 4, 11, 12, 0),
}


class SourceShapeError(ValueError):
    """A source file whose columns match neither known shape."""


@dataclass(frozen=True)
class SourceShape:
    name: str
    columns: dict[str, str]
    optional: frozenset[str]

    @property
    def required(self) -> set[str]:
        return set(self.columns) - set(self.optional)


KAGGLE = SourceShape("kaggle", KAGGLE_COLUMNS, KAGGLE_OPTIONAL)
TITANIC3 = SourceShape("titanic3", TITANIC3_COLUMNS, TITANIC3_OPTIONAL)
KNOWN_SHAPES = (KAGGLE, TITANIC3)


def detect_shape(columns: Iterable[str]) -> SourceShape:
    """Pick the shape a file's header matches, or explain exactly how it differs from each.

    A header matches a shape when it holds every required column of it; further columns (the
    derived ones popular copies of this data add: a class label, a deck, an embarkation town,
    ``alive``...) do not prevent a match: :func:`extra_columns` names them, the raw table keeps
    them, and nothing downstream reads them. When both shapes match, the one naming more of the
    header wins.
    """
    present = {str(c).strip() for c in columns}
    matching = [shape for shape in KNOWN_SHAPES if shape.required <= present]
    if matching:
        return max(matching, key=lambda shape: len(present & set(shape.columns)))
    problems = []
    for shape in KNOWN_SHAPES:
        missing = sorted(shape.required - present)
        unexpected = sorted(present - set(shape.columns))
        problems.append(
            f"{shape.name}: missing {missing or 'none'}, unexpected {unexpected or 'none'}"
        )
    raise SourceShapeError(
        "CSV header matches no known Titanic shape (Kaggle or titanic3). " + "; ".join(problems)
    )


def extra_columns(columns: Iterable[str], shape: SourceShape) -> list[str]:
    """Header columns outside ``shape``: kept in the raw table, never read by a feature."""
    return [str(c).strip() for c in columns if str(c).strip() not in shape.columns]


#: Extra columns that are outcome leaks by name, whatever their values look like.
LEAK_NAMES = frozenset({"alive", "survived", "survival", "died", "dead", "boat", "body"})
#: An extra column with at most this many distinct values that splits the passengers exactly
#: by label (every value seen with one outcome only, both outcomes seen) restates the label.
_LABEL_RESTATEMENT_MAX_VALUES = 10


def label_leak_columns(raw: pd.DataFrame, passengers: pd.DataFrame) -> list[str]:
    """Extra columns of ``raw`` that restate the label (e.g. ``alive`` = yes/no).

    They are leaks: a model reading one would look perfect and learn nothing. No extra column
    reaches a model anyway (features are built from :data:`PASSENGER_COLUMNS` only); this names
    them so a run can flag them. Two tests: a known leak name (:data:`LEAK_NAMES`,
    case-insensitive), or values that determine the label on every labelled row where they are
    present, with few distinct values (a unique-per-row column such as a name would "determine"
    the label trivially and is not a restatement).
    """
    shape = detect_shape(raw.columns)
    label = passengers["survived"]
    leaks = []
    for column in extra_columns(raw.columns, shape):
        if column.lower() in LEAK_NAMES:
            leaks.append(column)
            continue
        values = _to_text(raw[column])
        known = (values.notna() & label.isin((0, 1))).to_numpy()
        if known.sum() < max(10, len(raw) // 2):
            continue
        pairs = pd.DataFrame({"value": values[known].to_numpy(), "label": label[known].to_numpy()})
        n_values = pairs["value"].nunique()
        if not 2 <= n_values <= _LABEL_RESTATEMENT_MAX_VALUES or pairs["label"].nunique() < 2:
            continue
        if (pairs.groupby("value")["label"].nunique() == 1).all():
            leaks.append(column)
    return leaks


#: Columns that say who a passenger is (titanic3 / normalised names), in key order.
IDENTITY_COLUMNS = ("name", "ticket")
_ID_HASH_BYTES = 8


def stable_passenger_ids(frame: pd.DataFrame, prefix: str) -> list[str]:
    """Passenger ids that depend on who a passenger is, never on the row's position in the file.

    ``frame`` holds the source's known columns under their normalised names (extra columns are
    left out, so adding a derived column changes no id). The key of a row is its name and ticket
    (case and spacing folded) when both are present; otherwise, the documented fallback, all of
    the row's known values. The id is ``<prefix>-`` plus 16 hex digits of a BLAKE2b hash of the
    key. Rows sharing a key (true duplicates) are told apart by a suffix ``-2``, ``-3``...
    assigned in the order of their full known values, so reordering the file gives every
    passenger the same id again; fully identical rows are interchangeable, so which copy gets
    which suffix changes nothing stored.
    """
    known = [c for c in frame.columns]
    text = {c: _to_text(frame[c]).fillna("").str.casefold() for c in known}
    record = pd.Series([""] * len(frame), index=frame.index, dtype="string")
    for column in sorted(known):
        record = record + column + "=" + text[column] + "\x1f"
    if all(c in text for c in IDENTITY_COLUMNS):
        name = text["name"].str.replace(r"\s+", " ", regex=True)
        ticket = text["ticket"].str.replace(r"\s+", " ", regex=True)
        has_identity = (name != "") & (ticket != "")
        key = ("name+ticket=" + name + "\x1f" + ticket).where(has_identity, "row=" + record)
    else:
        key = "row=" + record
    keys = key.astype(str).to_numpy()
    order = pd.DataFrame({"key": keys, "record": record.astype(str).to_numpy()})
    rank = order.sort_values(["key", "record"], kind="stable").groupby("key").cumcount()
    rank = rank.reindex(order.index).to_numpy()
    ids = []
    for value, nth in zip(keys, rank, strict=True):
        digest = hashlib.blake2b(value.encode(), digest_size=_ID_HASH_BYTES).hexdigest()
        ids.append(f"{prefix}-{digest}" if nth == 0 else f"{prefix}-{digest}-{nth + 1}")
    return ids


def normalise_source(raw: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Map a raw source frame (all columns as strings) onto the passenger schema.

    Values are coerced but not judged here: an unparseable number becomes NaN and the raw text
    stays in ``raw`` for :func:`validate_passengers` to report. Columns outside the shape are
    ignored (see :func:`extra_columns`). Returns the frame and the shape.
    """
    shape = detect_shape(raw.columns)
    known = [c for c in raw.columns if str(c).strip() in shape.columns]
    frame = raw[known].rename(columns={c: shape.columns[str(c).strip()] for c in known})
    out = pd.DataFrame(index=frame.index)
    if shape is KAGGLE:
        # The file's own PassengerId: stable whatever the row order. A blank one stays missing
        # (and is rejected), not the id "kaggle-".
        out["passenger_id"] = "kaggle-" + _to_text(frame["source_row_id"])
    else:  # titanic3 numbers no one: derive the id from who the passenger is
        out["passenger_id"] = stable_passenger_ids(frame, "titanic3")
    out["source"] = SOURCE_HISTORICAL
    out["batch_id"] = HISTORICAL_BATCH
    out["pclass"] = _to_number(frame["pclass"])
    out["sex"] = _to_text(frame["sex"]).str.lower()
    out["age"] = _to_number(frame["age"])
    out["sibsp"] = _to_number(frame["sibsp"])
    out["parch"] = _to_number(frame["parch"])
    out["fare"] = _to_number(frame["fare"])
    out["embarked"] = _to_text(frame["embarked"]).str.upper()
    out["survived"] = _to_number(frame["survived"])
    out["event_time"] = (
        out["embarked"].map(BOARDING_TIMES).fillna(BOARDING_TIMES["S"]).astype("datetime64[us]")
    )
    return out[list(PASSENGER_COLUMNS)], shape.name


def _to_text(values: pd.Series) -> pd.Series:
    """Strip text; ``?`` (titanic3's marker) and empty strings mean missing."""
    return values.astype("string").str.strip().replace({"?": pd.NA, "": pd.NA})


def _to_number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(_to_text(values), errors="coerce")


def validate_passengers(
    passengers: pd.DataFrame, raw: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split normalised passengers into (accepted, rejected).

    A row is rejected, with every reason listed, when a required value is missing or unparseable
    or a value is out of its domain. ``raw`` (same index) lets a reason show the text as loaded.
    Rejected rows keep all their columns plus ``reject_reasons``. Accepted columns already in
    their storage types are not copied: ``accepted`` may share arrays with ``passengers``, which
    callers hand over (write into neither in place).
    """
    if raw is not None:  # Kaggle headers ("Age", "Fare"...) -> passenger names, for the checks
        raw = raw.rename(columns=lambda c: _RAW_NAMES.get(str(c).strip(), c))
    # Vectorised: each rule is one boolean mask; text reasons are built only for the rows a
    # rule flags (a million clean passengers cost a few array operations, no per-row lists).
    rules: list[tuple[np.ndarray, str, str | None]] = []

    def flag(mask: pd.Series | np.ndarray, message: str, column: str | None = None) -> None:
        if isinstance(mask, pd.Series):
            mask = mask.fillna(False)
        rules.append((np.asarray(mask, dtype=bool), message, column))

    p = passengers
    flag(_missing(p["passenger_id"]), "passenger_id is missing")
    flag(_duplicated(p["passenger_id"]), "passenger_id is duplicated", "passenger_id")
    flag(~p["pclass"].isin(PCLASSES), "pclass must be 1, 2 or 3", "pclass")
    sex_missing, sex_outside = _text_domain(p["sex"], SEXES)
    flag(sex_missing | sex_outside, "sex must be 'female' or 'male'", "sex")
    flag(~p["survived"].isin((0, 1)), "survived must be 0 or 1", "survived")
    flag(p["age"].notna() & ~p["age"].between(*AGE_RANGE), "age must be within 0..100", "age")
    flag(p["fare"].notna() & ~p["fare"].between(*FARE_RANGE), "fare must be within 0..1000", "fare")
    embarked_missing, embarked_outside = _text_domain(p["embarked"], PORTS)
    flag(embarked_outside, "embarked must be C, Q or S", "embarked")
    for column in ("sibsp", "parch"):
        flag(~p[column].between(*FAMILY_RANGE), f"{column} must be an integer 0..10", column)
        if not pd.api.types.is_integer_dtype(p[column].dtype):  # integers need no test
            flag(p[column].notna() & (p[column] % 1 != 0), f"{column} must be an integer", column)
    if raw is not None:
        _flag_unparseable(passengers, raw, flag)

    rejected_mask = np.zeros(len(passengers), dtype=bool)
    for mask, _, _ in rules:
        rejected_mask |= mask
    reasons: dict[int, list[str]] = {int(pos): [] for pos in np.flatnonzero(rejected_mask)}
    for mask, message, column in rules:  # rule order = the order reasons are listed in
        for pos in np.flatnonzero(mask):
            shown = ""
            if column is not None and raw is not None and column in raw.columns:
                shown = f" (got {raw[column].iloc[pos]!r})"
            elif column is not None:
                shown = f" (got {passengers[column].iloc[pos]!r})"
            reasons[int(pos)].append(message + shown)
    # Missing values already known: accepted ids are present, accepted sexes are in SEXES.
    known = {"passenger_id": None, "sex": None, "embarked": embarked_missing}
    if reasons:
        known = {c: None if m is None else m[~rejected_mask] for c, m in known.items()}
    accepted = _typed(passengers[~rejected_mask] if reasons else passengers, missing=known)
    rejected = passengers[rejected_mask].copy()
    rejected["reject_reasons"] = ["; ".join(r) for r in reasons.values()]
    return accepted, rejected


#: Either shape's header -> the passenger column it feeds (what validation looks up in ``raw``).
_RAW_NAMES = {**TITANIC3_COLUMNS, **KAGGLE_COLUMNS}


def _flag_unparseable(passengers, raw, flag) -> None:
    """Text that was present but did not parse as a number is an error, not a missing value."""
    for column in ("age", "fare"):
        if column not in raw.columns:
            continue
        text = raw[column].astype("string").str.strip()
        present = text.notna() & ~text.isin(["", "?"])
        flag(present & passengers[column].isna(), f"{column} is not a number", column)


def _missing(values: pd.Series | np.ndarray) -> np.ndarray:
    """Where values are missing (None, NaN, pd.NA); all-text columns are recognised by one
    type scan, several times cheaper than testing each value for every kind of missing."""
    if values.dtype == object and infer_dtype(values, skipna=False) == "string":
        return np.zeros(len(values), dtype=bool)
    return np.asarray(pd.isna(values), dtype=bool)


def _text_domain(values: pd.Series, allowed: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(missing, present but not in ``allowed``) of a text column.

    One ``isin`` pass over every row; only the rows outside ``allowed`` (few, in a clean
    batch) are then tested for missing values, rather than every row (a second pass over a
    million objects).
    """
    inside = np.asarray(values.isin(allowed), dtype=bool)
    missing = np.zeros(len(inside), dtype=bool)
    outside = ~inside
    rest = np.flatnonzero(outside)
    if len(rest):
        missing[rest] = np.asarray(pd.isna(values.iloc[rest]), dtype=bool)
        outside[rest] = ~missing[rest]
    return missing, outside


def _duplicated(ids: pd.Series) -> pd.Series:
    """``ids.duplicated(keep=False)``, without hashing ids that are visibly unique.

    Ids in strictly increasing text order are all distinct: the generator numbers its
    passengers so, and checking the order is a few comparisons per row where hashing a million
    strings costs several times more. Where the order breaks a few times (numbers that grow a
    digit: ``-999999`` then ``-1000000``), the ids are runs that each increase: the few ids
    outside the longest run are looked up in it by binary search, and among themselves. Ids
    in strictly increasing (length, text) order are distinct too (numbers that grow a digit
    often). Any other ids (unordered, missing, not text, or a repeat found) are hashed.
    """
    values = ids.to_numpy(dtype=object)
    if len(values) > 1:
        try:
            later = values[1:] > values[:-1]
            unique = bool(later.all()) or _runs_unique(values, later)
            if not unique:
                lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
                longer, same = lengths[1:] > lengths[:-1], lengths[1:] == lengths[:-1]
                unique = bool((longer | (same & later)).all())
        except TypeError:  # a missing or non-text id: no order to rely on
            unique = False
        if unique:
            return pd.Series(False, index=ids.index)
    return ids.duplicated(keep=False)


#: :func:`_runs_unique` looks up at most this many ids outside the longest increasing run.
_RUN_LOOKUPS = 1024


def _runs_unique(values: np.ndarray, later: np.ndarray) -> bool:
    """True if ``values`` are certainly distinct, given ``later`` (each value > the one before):
    every run where ``later`` holds is strictly increasing, hence distinct; the values outside
    the longest run (at most :data:`_RUN_LOOKUPS`) must not be in it, nor repeat among
    themselves. False means "not shown", not "duplicated"."""
    starts = np.concatenate(([0], np.flatnonzero(~later) + 1, [len(values)]))
    longest = int(np.argmax(np.diff(starts)))
    low, high = int(starts[longest]), int(starts[longest + 1])
    if len(values) - (high - low) > _RUN_LOOKUPS:
        return False
    run = values[low:high]
    others = np.concatenate((values[:low], values[high:]))
    if len(set(others)) < len(others):
        return False
    at = np.searchsorted(run, others)
    inside = at < len(run)
    return not bool((run[at[inside]] == others[inside]).any())


def _typed(
    accepted: pd.DataFrame, missing: dict[str, np.ndarray | None] | None = None
) -> pd.DataFrame:
    """Give accepted rows the storage types: ints where the domain is integral.

    Built column by column into a new frame with a 0..n-1 index, left unconsolidated. A column
    already in its storage type is taken as it is, not copied (at a million rows each copy is a
    sizeable cost), so the result may share arrays with ``accepted``; a column that needs a
    change is converted into a new array. ``missing`` gives text columns' missing-value masks
    already computed (None: nothing missing), so they are not searched again.
    """
    columns: dict[str, np.ndarray] = {}
    for column in ("pclass", "sibsp", "parch", "survived"):
        columns[column] = accepted[column].astype("int64", copy=False).to_numpy()
    for column in ("age", "fare"):
        values = accepted[column]
        if values.dtype == "float64":
            columns[column] = values.to_numpy()
        else:
            columns[column] = values.to_numpy(dtype="float64", na_value=np.nan)
    known = missing or {}
    for column in ("passenger_id", "source", "batch_id", "sex", "embarked"):
        values = accepted[column].to_numpy(dtype=object)
        absent = known[column] if column in known else _missing(values)
        if absent is not None and absent.any():  # NaN / pd.NA -> None, as DuckDB expects
            where = np.flatnonzero(absent)
            if any(v is not None for v in values[where]):  # (the generator's are None)
                values = values.copy()  # never write into the caller's array
                values[where] = None
        columns[column] = values
    event_time = accepted["event_time"]
    if not (event_time.dtype.kind == "M" and getattr(event_time.dtype, "tz", None) is None):
        event_time = pd.to_datetime(event_time)  # (already naive datetimes need no parsing)
    columns["event_time"] = event_time.to_numpy(dtype="datetime64[us]")
    return pd.DataFrame({c: columns[c] for c in PASSENGER_COLUMNS}, copy=False)


def empty_passengers() -> pd.DataFrame:
    """A typed, zero-row passenger frame (so empty batches still have the right columns)."""
    return _typed(pd.DataFrame({c: pd.Series(dtype=object) for c in PASSENGER_COLUMNS}))

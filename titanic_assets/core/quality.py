"""Data-quality suites for feature-store rows, evaluated by Great Expectations Core 1.x.

Two suites, because they answer different questions and fail with different consequences:

* **integrity** — is every row well formed (keys present and unique, values in their domain,
  the exact column set)? A failure means downstream code would train or score on garbage, so
  the Dagster layer runs it as a *blocking* check (severity ERROR).
* **distribution** — does the batch look like Titanic passengers (survival rate, share of women,
  mean age, share of 3rd class, survival among women)? A failure means "look at this", not
  "stop": small batches are noisy and a generator change may be intended, so it is a WARN.

GX evaluates both suites with its SQL execution engine, through SQLAlchemy, where the rows
are: every expectation becomes an aggregate query in the database instead of a million rows
re-built as Python objects for GX's pandas engine (about 3x faster on a million rows; ``make
bench`` measures the feature pipeline). This module holds the suites and reads the verdicts; it
is handed an open connection and a :class:`SqlTarget` (how SQLAlchemy reaches the same data),
so it names no database. :mod:`titanic_assets.data_layer.validation` binds it to DuckDB: a batch
in the warehouse, or a frame copied into an in-memory DuckDB (one engine, one set of semantics).
A failed expectation says how many rows failed, example values, and the ``passenger_id`` of
example rows.

This is a plain library module: no Dagster import, so it is testable and reusable from the CLI.
GX is called directly (``dagster-ge`` pins GX < 1 and does not work with GX Core 1.x). Importing
GX costs seconds, so it is imported lazily, on first validation; one ephemeral context and the
two suites are built once per process and reused.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from titanic_assets import names
from titanic_assets.core.features import FEATURE_STORE_COLUMNS
from titanic_assets.core.schema import (
    AGE_RANGE,
    FAMILY_RANGE,
    FARE_RANGE,
    PCLASSES,
    SOURCE_HISTORICAL,
    SOURCE_SYNTHETIC,
)

INTEGRITY = names.INTEGRITY_SUITE
DISTRIBUTION = names.DISTRIBUTION_SUITE

# --- Reference figures for the distribution suite ---------------------------------------------
# Measured on the real 1,309-passenger titanic3 list after build_features (survival rate
# 38.2%, asserted in tests/core/test_quality.py).
# A band is centre ± max(floor, Z * standard error), so it widens for small batches (a
# 20-passenger synthetic hour is not flagged for ordinary sampling noise) and narrows to the
# floor for large ones (1,309 rows with survival 0.9 is flagged). Z = 4 keeps false alarms on
# honest samples to roughly 1 in 15,000 per figure.
Z = 4.0
SURVIVAL_RATE = 0.382  # mean of survived
FEMALE_SHARE = 0.356  # mean of is_female
THIRD_CLASS_SHARE = 0.541  # share of pclass == 3
FEMALE_SURVIVAL_RATE = 0.727  # survival among women: catches labels drawn independently of sex
MEAN_AGE = 29.9  # years, over known ages
AGE_STD = 14.4  # years; standard error of the mean age is AGE_STD / sqrt(n)
RATE_FLOOR = 0.05  # smallest half-width for a rate, whatever n: tolerates a plausible generator
AGE_FLOOR = 2.0  # smallest half-width for the mean age, in years
# ------------------------------------------------------------------------------------------------

#: How many example bad values an outcome keeps (GX's ``partial_unexpected_count``).
MAX_EXAMPLES = 5

#: Feature-store columns that may be missing for a passenger; every other column must be filled.
NULLABLE_COLUMNS = frozenset({"age", "fare"})
BINARY_COLUMNS = (
    "is_female",
    "is_alone",
    "embarked_c",
    "embarked_q",
    "embarked_s",
    "survived",
)
FAMILY_SIZE_RANGE = (1, 1 + 2 * FAMILY_RANGE[1])

#: The column naming a failing row in an outcome (GX's ``unexpected_index_column_names``).
ROW_ID_COLUMN = "passenger_id"
#: A batch is first judged as cheaply as its verdict allows. Only if something failed is it
#: judged again with SUMMARY and an index column: unexpected counts, example values and the ids
#: of example failing rows, which cost a query per expectation (the uniqueness one recomputes
#: its window over every id: ~0.2 s on a million rows). A passing batch, the usual case, does
#: not pay for examples it has none of.
#:
#: * integrity: BOOLEAN_ONLY. Every expectation is pass/fail on rows (or on the row count and
#:   column set), and a passing batch has nothing to show but "passed". Its verdict suite checks
#:   unique ids as an aggregate (the share of distinct ids is 1: one ``count(DISTINCT)``
#:   query) rather than with GX's row-level uniqueness expectation, whose SQL counts each id's
#:   rows over a window partitioned by id (about three times the cost on a million ids). The
#:   two agree on every batch: the share is 1 exactly when no id repeats (both ignore nulls,
#:   which the not-null expectation catches). A failed batch
#:   is judged again by the same rules with the row-level expectation, and that verdict and its
#:   outcomes are the ones reported, naming the duplicated ids and their rows.
#: * distribution: BASIC, because its observed means are the point (tracked per batch, passing
#:   or not; one aggregate query for all of them).
_INTEGRITY_FORMAT = {"result_format": "BOOLEAN_ONLY"}
_DISTRIBUTION_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": MAX_EXAMPLES}
_FAILURE_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
_NON_EXPECTED_KWARGS = frozenset(
    {"column", "batch_id", "result_format", "catch_exceptions", "row_condition", "condition_parser"}
)


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, reduced to what a person needs to act on it.

    ``expected`` (the bounds or set that applied) and ``error`` (why GX could not evaluate it,
    e.g. a missing column) are extra to the core fields so a failure explains itself.
    """

    expectation: str  # e.g. "expect_column_values_to_be_in_set(pclass)"
    success: bool
    unexpected_count: int  # rows failing (0 for table-level and aggregate expectations)
    unexpected_examples: list  # up to 5 distinct example bad values
    observed: object | None  # observed value for aggregate expectations (e.g. a mean)
    expected: dict = field(default_factory=dict)  # e.g. {"min_value": 0.33, "max_value": 0.43}
    error: str | None = None  # GX exception message when the expectation could not run
    failing_rows: list = field(default_factory=list)  # passenger_id of up to 5 failing rows


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one suite on one frame; ``as_metadata`` is what a Dagster check records."""

    suite: str  # "integrity" or "distribution"
    success: bool
    evaluated_rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """Outcomes that did not pass, in suite order."""
        return [o for o in self.outcomes if not o.success]

    def as_metadata(self) -> dict:
        """A plain, JSON-serialisable summary (no numpy types, no NaN).

        ``observed`` maps every aggregate expectation to its numeric observed value (passing or
        not) so figures such as the survival rate can be tracked over time.
        """
        return {
            "suite": self.suite,
            "success": bool(self.success),
            "rows": int(self.evaluated_rows),
            "n_expectations": len(self.outcomes),
            "n_failed": len(self.failed),
            "failed": [
                {
                    "expectation": o.expectation,
                    "unexpected_count": int(o.unexpected_count),
                    "examples": _plain(o.unexpected_examples),
                    "failing_rows": _plain(o.failing_rows),
                    "observed": _plain(o.observed),
                    "expected": _plain(o.expected),
                    "error": o.error,
                }
                for o in self.failed
            ],
            "observed": {
                o.expectation: _plain(o.observed)
                for o in self.outcomes
                if isinstance(_plain(o.observed), int | float) and not isinstance(o.observed, bool)
            },
        }


# --- public API ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlTarget:
    """How GX's SQL engine reaches the rows: a SQLAlchemy URL naming the dialect, and a
    ``creator`` returning DB-API connections to the database the caller's connection is on."""

    url: str
    creator: Callable[[], Any]


def validate_integrity(conn: Any, relation: str, target: SqlTarget) -> SuiteResult:
    """Check feature-store rows are well formed: the blocking (ERROR) suite.

    ``relation`` is a ``SELECT`` of the rows, run by ``conn`` (an open DB-API connection, for
    the few queries around the suite) and by GX through ``target``. Expectations: at least one
    row; exactly :data:`FEATURE_STORE_COLUMNS`; ``passenger_id`` unique; no nulls outside
    ``age``/``fare`` (GX's set and range expectations skip nulls, so nulls need their own
    expectation); ``source`` in {historical, synthetic}; ``pclass`` in {1, 2, 3}; flags and
    ``survived`` in {0, 1}; ``age`` 0..100, ``fare`` 0..1000, ``sibsp`` and ``parch`` 0..10,
    ``family_size`` 1..21. No rows or a missing column fails with an outcome saying so; it
    never raises.
    """
    with _data_source(target) as source:
        return _integrity(conn, relation, source)


def validate_distribution(conn: Any, relation: str, target: SqlTarget) -> SuiteResult:
    """Check a batch looks like Titanic passengers: the advisory (WARN) suite.

    GX evaluates column means of the figures compared, derived in SQL from the rows:
    ``survived``, ``is_female``, ``age``, ``is_third_class`` (1 where pclass is 3) and
    ``female_survived`` (``survived`` for women, null for men, so its mean is survival among
    women). Each band is sized for the number of non-null values it averages (see the
    constants block), so the verdict means "unlikely under the reference", not "different".
    """
    with _data_source(target) as source:
        return _distribution(conn, relation, source)


def validate_batch(conn: Any, relation: str, target: SqlTarget) -> dict[str, SuiteResult]:
    """Both suites on one batch, by suite name: integrity (blocking) and distribution (warn).

    Both query the batch through one GX data source (one SQLAlchemy engine): setting one up
    and removing it again is a fixed cost per source, paid once here rather than per suite.
    """
    with _data_source(target) as source:
        return {
            INTEGRITY: _integrity(conn, relation, source),
            DISTRIBUTION: _distribution(conn, relation, source),
        }


def validate_batches(
    conn: Any,
    relation: str,
    batch_column: str,
    batch_relation: Callable[[str], str],
    batches: Sequence[str],
    target: SqlTarget,
) -> dict[str, dict[str, SuiteResult]]:
    """Both suites on each of ``batches`` (values of ``batch_column`` in the rows ``relation``
    selects), by batch: the verdicts :func:`validate_batch` gives each batch alone, in two GX
    validations for all of them instead of two per batch (a backfill judges hundreds of hours).

    * integrity: every rule is about rows, or about the column set or unique ids, so the rows of
      all batches pass exactly when each batch's rows do, given each batch has rows (counted
      here). Judged once on all rows; when that fails, or a batch has no rows, the batches are
      judged one by one with :func:`validate_batch` on ``batch_relation(batch)``, whose
      verdicts name the failing rows of each.
    * distribution: one suite holding the distribution expectations once per batch, each
      restricted to its batch's rows (GX's ``row_condition``) with the band for that batch's
      sample sizes: the same expectations and bands as the batch alone.
    """
    batches = list(batches)
    quotable = all('"' not in b and "\\" not in b for b in batches)
    present = set(_columns(conn, relation))
    if len(batches) < 2 or not quotable or batch_column not in present:
        return {b: validate_batch(conn, batch_relation(b), target) for b in batches}
    counts = dict(
        conn.execute(
            f"SELECT {batch_column}, count(*) FROM ({relation}) AS r GROUP BY {batch_column}"
        ).fetchall()
    )
    with _data_source(target) as source:
        whole = _integrity(conn, relation, source)
        by_batch = _distribution_by_batch(conn, relation, batch_column, batches, counts, source)
    out = {}
    for batch in batches:
        rows = int(counts.get(batch, 0))
        if whole.success and rows > 0 and by_batch is not None:
            integrity = SuiteResult(INTEGRITY, True, rows, whole.outcomes)
            out[batch] = {INTEGRITY: integrity, DISTRIBUTION: by_batch[batch]}
        else:
            out[batch] = validate_batch(conn, batch_relation(batch), target)
    return out


def _distribution_by_batch(
    conn: Any,
    relation: str,
    batch_column: str,
    batches: list[str],
    counts: dict[str, int],
    source: Any,
) -> dict[str, SuiteResult] | None:
    """The distribution suite per batch, in one validation (see :func:`validate_batches`);
    None when a figure's input column is missing (each batch alone then says which).

    GX judges a table of one row per batch: the batch's rows, each figure's mean over the
    batch, and the band :func:`band` gives that batch's sample size (``<figure>_min`` /
    ``<figure>_max``). Each figure's mean must be present and within its row's band, which is
    what the batch alone is held to (``ExpectColumnMeanToBeBetween``); the failing rows are the
    failing batches. The outcomes are reported as the batch alone reports them.
    """
    query = _distribution_query(conn, relation, keep=(batch_column,))
    if not {f.column for f in FIGURES} <= set(_columns(conn, query)):
        return None
    by_batch = _bands(conn, query, batch_column)
    bands = {batch: by_batch.get(batch) or by_batch[None] for batch in batches}
    figures = _figures_by_batch_query(query, batch_column, bands)
    observed = {row[0]: row[1:] for row in conn.execute(figures).fetchall()}
    asset = source.add_query_asset(name=f"{DISTRIBUTION}_by_batch", query=figures)
    result = (
        asset.add_batch_definition_whole_table(name="all_rows")
        .get_batch()
        .validate(
            _by_batch_suite(),
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [batch_column],
            },
        )
    )
    failing = _failing_batches(result, batch_column)
    if failing is None:
        return None
    out = {}
    for batch in batches:
        rows, *means = observed[batch][: 1 + len(FIGURES)]
        outcomes = []
        for expectation, value in zip(
            _distribution_expectations(bands[batch]), [rows, *means], strict=True
        ):
            column = getattr(expectation, "column", None)
            kwargs = expectation.configuration.kwargs
            outcomes.append(
                ExpectationOutcome(
                    expectation=_label(expectation.expectation_type, column),
                    success=batch not in failing[column or "n_rows"],
                    unexpected_count=0,
                    unexpected_examples=[],
                    observed=_plain(value),
                    expected={
                        k: _plain(v) for k, v in kwargs.items() if k not in _NON_EXPECTED_KWARGS
                    },
                )
            )
        out[batch] = SuiteResult(
            suite=DISTRIBUTION,
            success=all(o.success for o in outcomes),
            evaluated_rows=int(counts.get(batch, 0)),
            outcomes=outcomes,
        )
    return out


def _figures_by_batch_query(query: str, batch_column: str, bands: dict[str, dict]) -> str:
    """One row per batch: its rows, each figure's mean and its own band (``<figure>_min`` /
    ``<figure>_max``); a batch without rows still has its row (``n_rows`` 0)."""
    names_ = [f"{f.column}_{side}" for f in FIGURES for side in ("min", "max")]
    literal = {b: "'" + b.replace("'", "''") + "'" for b in bands}
    values = ", ".join(
        f"({literal[b]}, {', '.join(repr(float(bands[b][n])) for n in names_)})" for b in bands
    )
    means = ", ".join(f"avg({f.column}) AS {f.column}" for f in FIGURES)
    return (
        f"SELECT b.{batch_column}, coalesce(m.n_rows, 0) AS n_rows, "
        f"{', '.join(f'm.{f.column}' for f in FIGURES)}, {', '.join(f'b.{n}' for n in names_)} "
        f"FROM (VALUES {values}) AS b({batch_column}, {', '.join(names_)}) "
        f"LEFT JOIN (SELECT {batch_column}, count(*) AS n_rows, {means} FROM ({query}) AS q "
        f"GROUP BY {batch_column}) AS m USING ({batch_column})"
    )


def _by_batch_suite() -> Any:
    """The distribution suite over the per-batch table: rows, and each mean within its band."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    pair = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
    return gx.ExpectationSuite(
        name=f"{DISTRIBUTION}_by_batch",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(column="n_rows", min_value=1),
            *(
                check
                for f in FIGURES
                for check in (
                    gxe.ExpectColumnValuesToNotBeNull(column=f.column),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=f.column, column_B=f"{f.column}_min", **pair
                    ),
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=f"{f.column}_max", column_B=f.column, **pair
                    ),
                )
            ),
        ],
    )


def _failing_batches(result: Any, batch_column: str) -> dict[str, set[str]] | None:
    """The batches each figure (and ``n_rows``) failed on; None when GX raised on a figure."""
    failing: dict[str, set[str]] = {"n_rows": set(), **{f.column: set() for f in FIGURES}}
    for evr in result.results:
        if _exception_message(evr.exception_info):
            return None
        kwargs = evr.expectation_config.kwargs
        figure = kwargs.get("column") or next(
            c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c in failing
        )
        failing[figure] |= {row[batch_column] for row in evr.result["unexpected_index_list"]}
    return failing


def _integrity(conn: Any, relation: str, source: Any) -> SuiteResult:
    gx = _gx()
    return _run(
        INTEGRITY,
        gx.integrity_suite,
        conn,
        relation,
        relation,
        {},
        source,
        _INTEGRITY_FORMAT,
        explaining_suite=gx.integrity_explaining_suite,
    )


def _distribution(conn: Any, relation: str, source: Any) -> SuiteResult:
    query = _distribution_query(conn, relation)
    parameters = _bands(conn, query)
    suite = _gx().distribution_suite
    return _run(
        DISTRIBUTION, suite, conn, query, relation, parameters, source, _DISTRIBUTION_FORMAT
    )


def band(centre: float, spread: float, n: int, floor: float) -> tuple[float, float]:
    """``centre ± max(floor, Z * spread / sqrt(n))``: the acceptance band for a mean of n values.

    ``spread`` is the per-value standard deviation (``sqrt(p(1-p))`` for a rate). With no values
    the band is the floor (the mean is then undefined and the expectation fails anyway).
    """
    half = floor if n <= 0 else max(floor, Z * spread / math.sqrt(n))
    return centre - half, centre + half


# --- the distribution figures -------------------------------------------------------------------


@dataclass(frozen=True)
class _Figure:
    column: str  # column of the derived frame whose mean is compared
    centre: float
    spread: float  # per-value standard deviation at the reference
    floor: float
    bounds: tuple[float, float]  # the possible range of the mean, to clip the band


def _rate(column: str, p: float) -> _Figure:
    return _Figure(column, p, math.sqrt(p * (1 - p)), RATE_FLOOR, (0.0, 1.0))


FIGURES: tuple[_Figure, ...] = (
    _rate("survived", SURVIVAL_RATE),
    _rate("is_female", FEMALE_SHARE),
    _Figure("age", MEAN_AGE, AGE_STD, AGE_FLOOR, AGE_RANGE),
    _rate("is_third_class", THIRD_CLASS_SHARE),
    _rate("female_survived", FEMALE_SURVIVAL_RATE),
)


def _distribution_query(conn: Any, relation: str, keep: Sequence[str] = ()) -> str:
    """The narrow relation the distribution suite averages; absent inputs stay absent.

    Values that are not numbers become null (``TRY_CAST``), as a frame's ``to_numeric(errors=
    "coerce")`` would. An absent source column leaves its derived column out, so GX reports the
    missing column on that expectation instead of this function raising.
    """
    present = set(_columns(conn, relation))
    derived = [
        f"TRY_CAST({c} AS DOUBLE) AS {c}" for c in ("survived", "is_female", "age") if c in present
    ]
    if "pclass" in present:
        derived.append("CAST(TRY_CAST(pclass AS DOUBLE) = 3 AS DOUBLE) AS is_third_class")
    if {"survived", "is_female"} <= present:
        derived.append(
            "CASE WHEN TRY_CAST(is_female AS DOUBLE) = 1 THEN TRY_CAST(survived AS DOUBLE) END"
            " AS female_survived"
        )
    # Keep a column so that a relation with none of the inputs is still a valid SELECT.
    select = ", ".join([*keep, *derived]) or "NULL AS no_inputs"
    return f"SELECT {select} FROM ({relation}) AS batch_rows"


def _columns(conn: Any, relation: str) -> list[str]:
    return [d[0] for d in conn.execute(f"SELECT * FROM ({relation}) AS r LIMIT 0").description]


def _bands(conn: Any, query: str, by: str | None = None) -> Any:
    """Suite parameters ``<column>_min`` / ``<column>_max`` for this batch's sample sizes; with
    ``by``, for each value of that column (``None``: the parameters of a batch with no rows)."""
    present = set(_columns(conn, query))
    counted = [f.column for f in FIGURES if f.column in present]
    aggregates = ", ".join(["count(*)", *(f"count({c})" for c in counted)])
    if by is None:
        rows = [(None, *conn.execute(f"SELECT {aggregates} FROM ({query}) AS q").fetchone())]
    else:
        rows = conn.execute(f"SELECT {by}, {aggregates} FROM ({query}) AS q GROUP BY {by}")
        rows = [*rows.fetchall(), (None, 0, *(0 for _ in counted))]
    out: dict[Any, dict[str, float]] = {}
    for key, total, *found in rows:
        counts = dict(zip(counted, found, strict=True))
        params: dict[str, float] = {}
        for fig in FIGURES:
            n = int(counts.get(fig.column, total))
            lo, hi = band(fig.centre, fig.spread, n, fig.floor)
            params[f"{fig.column}_min"] = round(max(lo, fig.bounds[0]), 6)
            params[f"{fig.column}_max"] = round(min(hi, fig.bounds[1]), 6)
        out[key] = params
    return out[None] if by is None else out


# --- GX plumbing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GX:
    context: Any
    integrity_suite: Any  # the verdict (uniqueness as an aggregate)
    integrity_explaining_suite: Any  # the same rules, uniqueness row by row (failed batches)
    distribution_suite: Any
    lock: threading.Lock


@cache
def _gx() -> _GX:
    """Build, once per process, the GX context and both suites.

    The import lives here, not at module level: GX takes seconds to import and most users of
    this package (the CLI, unit tests of other modules) never validate anything.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # read by GX when a context is created
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        # tqdm bars would spam run logs and test output on every validation.
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return _GX(
        context=gx.get_context(mode="ephemeral", project_config=config),
        integrity_suite=gx.ExpectationSuite(name=INTEGRITY, expectations=_integrity_expectations()),
        integrity_explaining_suite=gx.ExpectationSuite(
            name=f"{INTEGRITY}_explained", expectations=_explaining_integrity_expectations()
        ),
        distribution_suite=gx.ExpectationSuite(
            name=DISTRIBUTION, expectations=_distribution_expectations()
        ),
        lock=threading.Lock(),
    )


@contextmanager
def _data_source(target: SqlTarget) -> Iterator[Any]:
    """A GX SQL data source bound to ``target``, removed on exit with its engine.

    One per validation call (each call may be on another database), so the process keeps no
    engine and no connection it no longer uses. Held under the context's lock: the data
    sources live in the shared context.
    """
    gx = _gx()
    with gx.lock:
        source = gx.context.data_sources.add_sql(
            name="titanic_batch",
            # The URL picks the dialect; ``creator`` makes the connections.
            connection_string=target.url,
            kwargs={"creator": target.creator},
        )
        try:
            yield source
        finally:
            source.get_execution_engine().engine.dispose()
            gx.context.data_sources.delete(source.name)


def _run(
    suite_name: str,
    suite: Any,
    conn: Any,
    query: str,
    relation: str,
    parameters: dict,
    source: Any,
    first_format: dict,
    *,
    explaining_suite: Any = None,
) -> SuiteResult:
    """Validate ``suite`` on the rows ``query`` selects, with GX's SQL engine through
    ``source``: with ``first_format``, and if the suite failed, ``explaining_suite`` (default:
    ``suite``) with :data:`_FAILURE_FORMAT`, whose verdict and outcomes are then reported."""
    failure_format = dict(_FAILURE_FORMAT)
    if ROW_ID_COLUMN in _columns(conn, query):
        failure_format["unexpected_index_column_names"] = [ROW_ID_COLUMN]
    asset = source.add_query_asset(name=f"{suite_name}_rows", query=query)
    batch = asset.add_batch_definition_whole_table(name="all_rows").get_batch()
    result = batch.validate(suite, result_format=first_format, expectation_parameters=parameters)
    if not result.success:  # name the failing rows too
        suite = suite if explaining_suite is None else explaining_suite
        result = batch.validate(
            suite, result_format=failure_format, expectation_parameters=parameters
        )
    order = [_label(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations]
    outcomes = sorted(
        (_outcome(r) for r in result.results),
        key=lambda o: order.index(o.expectation) if o.expectation in order else len(order),
    )
    return SuiteResult(
        suite=suite_name,
        success=bool(result.success),
        evaluated_rows=int(conn.execute(f"SELECT count(*) FROM ({relation}) AS r").fetchone()[0]),
        outcomes=outcomes,
    )


def _integrity_expectations() -> list:
    """The integrity verdict: unique ids as the share of distinct ids (an aggregate)."""
    import great_expectations.expectations as gxe

    return _integrity_rules(
        gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
            column=ROW_ID_COLUMN, min_value=1.0, max_value=1.0
        )
    )


def _explaining_integrity_expectations() -> list:
    """The same rules with uniqueness row by row, which names the duplicated ids' rows."""
    import great_expectations.expectations as gxe

    return _integrity_rules(gxe.ExpectColumnValuesToBeUnique(column=ROW_ID_COLUMN))


def _integrity_rules(unique_ids: Any) -> list:
    import great_expectations.expectations as gxe

    expectations: list = [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectTableColumnsToMatchSet(column_set=list(FEATURE_STORE_COLUMNS), exact_match=True),
        unique_ids,
    ]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column=c)
        for c in FEATURE_STORE_COLUMNS
        if c not in NULLABLE_COLUMNS
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeInSet(
            column="source", value_set=[SOURCE_HISTORICAL, SOURCE_SYNTHETIC]
        ),
        gxe.ExpectColumnValuesToBeInSet(column="pclass", value_set=list(PCLASSES)),
    ]
    expectations += [
        gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[0, 1]) for c in BINARY_COLUMNS
    ]
    ranges = {
        "age": AGE_RANGE,
        "fare": FARE_RANGE,
        "sibsp": FAMILY_RANGE,
        "parch": FAMILY_RANGE,
        "family_size": FAMILY_SIZE_RANGE,
    }
    expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
        for c, (lo, hi) in ranges.items()
    ]
    return expectations


def _distribution_expectations(bands: dict[str, float] | None = None, **extra: Any) -> list:
    """The distribution suite's expectations: each band a suite parameter, or with ``bands``
    the given values; ``extra`` goes to every expectation (e.g. a ``row_condition``)."""
    import great_expectations.expectations as gxe

    def bound(name: str) -> Any:
        return {"$PARAMETER": name} if bands is None else bands[name]

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, **extra),
        *(
            gxe.ExpectColumnMeanToBeBetween(
                column=fig.column,
                min_value=bound(f"{fig.column}_min"),
                max_value=bound(f"{fig.column}_max"),
                **extra,
            )
            for fig in FIGURES
        ),
    ]


def _label(expectation_type: str, column: str | None) -> str:
    return f"{expectation_type}({column})" if column else expectation_type


def _outcome(evr: Any) -> ExpectationOutcome:
    """Reduce an ExpectationValidationResult to an :class:`ExpectationOutcome`."""
    config = evr.expectation_config
    kwargs = dict(config.kwargs)
    result = dict(evr.result or {})
    error = _exception_message(evr.exception_info)
    examples: list = []
    details = result.get("details") or {}
    mismatched = details.get("mismatched") if isinstance(details, dict) else None
    if isinstance(mismatched, dict):  # column-set expectation: name the wrong columns
        examples = [f"missing: {c}" for c in mismatched.get("missing") or []]
        examples += [f"unexpected: {c}" for c in mismatched.get("unexpected") or []]
    else:
        for value in result.get("partial_unexpected_list") or []:
            value = _plain(value)
            if value not in examples:
                examples.append(value)
    return ExpectationOutcome(
        expectation=_label(config.type, kwargs.get("column")),
        success=bool(evr.success),
        unexpected_count=int(result.get("unexpected_count") or 0),
        unexpected_examples=examples[:MAX_EXAMPLES],
        observed=_plain(result.get("observed_value")),
        expected={k: _plain(v) for k, v in kwargs.items() if k not in _NON_EXPECTED_KWARGS},
        error=error,
        failing_rows=[
            _plain(row.get(ROW_ID_COLUMN))
            for row in (result.get("partial_unexpected_index_list") or [])[:MAX_EXAMPLES]
            if isinstance(row, dict)
        ],
    )


def _exception_message(info: Any) -> str | None:
    """GX's exception_info is either one record or a dict of records keyed by metric id."""
    if not isinstance(info, dict):
        return None
    records = [info] if "raised_exception" in info else list(info.values())
    for record in records:
        if isinstance(record, dict) and record.get("raised_exception"):
            return str(record.get("exception_message") or "expectation raised an exception")
    return None


def _plain(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN/NA to None, times to ISO text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        return [_plain(v) for v in value]
    if isinstance(value, np.datetime64 | np.timedelta64):
        value = pd.Timestamp(value) if isinstance(value, np.datetime64) else pd.Timedelta(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | bool):
        return value
    if isinstance(value, pd.Timestamp | datetime | date | pd.Timedelta):
        return None if pd.isna(value) else value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)

"""When a day is scored: declarative automation conditions for the inference assets.

Dagster's automation condition sensor evaluates these every tick and the UI's Automation tab
shows, per partition and sub-condition, why a day was requested or not. They replace the
hand-written ``rescore_on_new_champion`` asset sensor: nothing here needs run config or a
warehouse read, only the asset graph's own state.

``inference/predictions`` (daily) is requested for a day when

* **its hours are in**: the day is one of the two most recent (yesterday, or the day before
  just after midnight), none of the 24 hourly ``features/synthetic_features`` partitions it
  maps to is missing, and an hour was (re)materialized (or the champion changed) since the
  day was last requested. So a day is scored once its last hour lands, and re-scored when
  one of its hours is re-materialized afterwards. Older days are never automated: a backfill
  of last month re-scores nothing by itself; such days show as unsynced in the UI instead.
* **the champion changed**, for today (the incomplete day): a new champion re-scores today's
  passengers so far, as the ``promote_model`` job and ``titanic promote`` promise.
* **its cron passed** (00:30 UTC) and yesterday was never scored: a day with an hour that never
  arrived is still scored, from the hours that did (this replaces the daily schedule).

and nothing it depends on, and no run of the day itself, is in progress.
``monitoring/model_performance`` follows its day's predictions in the same run.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from titanic_assets import names

HOURLY_FEATURES = dg.AssetKey(names.SYNTHETIC_FEATURES)
CHAMPION = dg.AssetKey(names.CHAMPION)
PREDICTIONS = dg.AssetKey(names.PREDICTIONS)

_HOURS = dg.AssetSelection.assets(HOURLY_FEATURES)
_CHAMPION = dg.AssetSelection.assets(CHAMPION)

#: Days that automation completes or re-scores: today and yesterday.
RECENT_DAYS = timedelta(days=2)
#: When a day whose hours did not all arrive is scored anyway: 00:30 UTC the next day.
DAILY_CRON = "30 0 * * *"


def predictions_condition() -> dg.AutomationCondition:
    """Score a day once its hours are in; re-score on a changed hour or a new champion."""
    AC = dg.AutomationCondition
    today = AC.in_latest_time_window().with_label("today")
    recent = AC.in_latest_time_window(lookback_delta=RECENT_DAYS).with_label("today or yesterday")
    hours_in = (~AC.any_deps_missing().allow(_HOURS)).with_label("all hours of the day are in")
    hour_updated = AC.any_deps_updated().allow(_HOURS).with_label("an hour was updated")
    champion_changed = AC.any_deps_updated().allow(_CHAMPION).with_label("the champion changed")
    complete_day = (
        recent
        & ~today
        & hours_in
        & (AC.newly_missing() | hour_updated | champion_changed).since_last_handled()
    ).with_label("a recent complete day whose hours or champion changed")
    today_rescore = (today & champion_changed.since_last_handled()).with_label(
        "today, after a champion change"
    )
    late_day = (
        recent & ~today & AC.missing() & AC.cron_tick_passed(DAILY_CRON, "UTC").since_last_handled()
    ).with_label(f"yesterday, never scored, at {DAILY_CRON} UTC")
    return (
        (complete_day | today_rescore | late_day) & ~AC.any_deps_in_progress() & ~AC.in_progress()
    ).with_label("score the day")


def monitoring_condition() -> dg.AutomationCondition:
    """Monitor a recent day whenever its predictions are (re)computed: in the same run when
    both are requested together, else on the next tick. Updates made by a run that also
    monitored the day do not count (``any_deps_updated`` ignores them)."""
    AC = dg.AutomationCondition
    predictions = dg.AssetSelection.assets(PREDICTIONS)
    return (
        AC.in_latest_time_window(lookback_delta=RECENT_DAYS)
        & AC.any_deps_updated().allow(predictions).since_last_handled()
        & ~AC.any_deps_missing().allow(predictions)
        & ~AC.in_progress()
    ).with_label("after the day's predictions")

"""``models/champion``: the registry's champion as an asset of its own, so a change is an event.

Every training run materializes ``models/model_versions``, whether or not its challenger won,
so that asset cannot tell downstream "the model that scores changed". This one can: it is
materialized only when the champion changes, by whichever path changes it:

* a training run whose challenger wins (the ``model_versions`` asset logs the event);
* the ``promote_model`` job (promote a version, or roll back);
* ``titanic promote`` / ``titanic rollback`` on the command line, which report the event to
  the instance at ``$DAGSTER_HOME`` (no run: nothing is computed, the registry has changed).

Batch predictions depend on it: its automation condition re-scores on a new event, and the
UI shows days scored by the previous champion as unsynced.

The asset is external (an ``AssetSpec``): Dagster never computes it, the registry in the
warehouse is the truth; the events record when and why it changed.
"""

from __future__ import annotations

import dagster as dg

from titanic_assets import names

CHAMPION = dg.AssetKey(names.CHAMPION)
_MODEL_VERSIONS = dg.AssetKey(names.MODEL_VERSIONS)

champion_spec = dg.AssetSpec(
    key=CHAMPION,
    deps=[_MODEL_VERSIONS],
    group_name=names.TRAINING_GROUP,
    owners=["team:ml"],
    kinds={"duckdb"},
    code_version="1",
    description="The version that scores (models.model_versions WHERE is_champion). A new "
    "event each time the champion changes: a training run's challenger wins, the promote_model "
    "job, or `titanic promote` / `titanic rollback`.",
)


def champion_changed(version: int, decision: str, source: str) -> dg.AssetMaterialization:
    """The event that says the champion is now ``version``, and why."""
    return dg.AssetMaterialization(
        asset_key=CHAMPION,
        description=decision,
        metadata={
            "champion_version": dg.MetadataValue.int(int(version)),
            "decision": dg.MetadataValue.text(decision),
            "changed_by": dg.MetadataValue.text(source),
        },
    )


def report_champion_change(
    instance: dg.DagsterInstance, version: int, decision: str, source: str
) -> None:
    """Record a champion change made outside any run (the CLI) in the instance's event log."""
    instance.report_runless_asset_event(champion_changed(version, decision, source))

"""Training jobs: ``training_pipeline`` (train, register, decide) and ``promote_model`` (by hand).

Both run in-process: each has one or two small steps, and the multiprocess executor would
spend ~1.5 s starting a process per step.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from titanic_assets import names
from titanic_assets.data_layer import registry
from titanic_assets.data_layer.resources import open_warehouse
from titanic_assets.names import WAREHOUSE_POOL
from titanic_assets.training_pipeline.assets import GROUP, MODEL_VERSIONS
from titanic_assets.training_pipeline.champion import champion_changed

training_pipeline = dg.define_asset_job(
    name=names.TRAINING_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    description="Point-in-time training set -> XGBoost -> holdout/CV evaluation -> registry "
    "version -> champion/challenger decision.",
)


class PromotionConfig(dg.Config):
    reason: str = Field(description="Why: recorded in models.promotions with the run id.")
    version: int | None = Field(default=None, description="Version to make champion.")
    rollback: bool = Field(
        default=False, description="Instead of `version`: return to the previous champion."
    )


@dg.op(pool=WAREHOUSE_POOL, description="Promote a version, or roll back, and log the reason.")
def promote_or_rollback(
    context: dg.OpExecutionContext, config: PromotionConfig, duckdb: DuckDBResource
) -> None:
    if config.rollback == (config.version is not None):
        raise dg.Failure("set exactly one of `version` (promote) or `rollback: true`")
    if not config.reason.strip():
        raise dg.Failure("`reason` must say why the champion changes")
    run_id = context.run.run_id
    with open_warehouse(duckdb) as conn:
        previous = registry.champion(conn)
        try:
            if config.rollback:
                version = registry.rollback(conn, config.reason, run_id=run_id)
            else:
                version = int(config.version)  # type: ignore[arg-type]
                registry.promote(conn, version, config.reason, run_id=run_id)
        except registry.RegistryError as error:
            raise dg.Failure(f"champion unchanged: {error}") from error
    action = "rollback" if config.rollback else "promote"
    decision = f"{action}: v{previous.version if previous else '-'} -> v{version}: {config.reason}"
    context.log.info(decision)
    # A champion change is a new state of the registry asset, and an event of models/champion:
    # batch predictions re-score on it (their automation condition), as after a training run.
    context.log_event(
        dg.AssetMaterialization(
            asset_key=MODEL_VERSIONS,
            description=decision,
            metadata={
                "champion_version": dg.MetadataValue.int(version),
                "promoted": dg.MetadataValue.bool(True),
                "decision": dg.MetadataValue.text(decision),
                "run_id": dg.MetadataValue.text(run_id),
            },
        )
    )
    context.log_event(champion_changed(version, decision, f"promote_model run {run_id}"))


@dg.job(
    name=names.PROMOTE_JOB,
    executor_def=dg.in_process_executor,
    description="Make a given model version champion, or roll back to the previous champion. "
    'Config: {"ops": {"promote_or_rollback": {"config": {"version": 3, "reason": "..."}}}}.',
)
def promote_model() -> None:
    promote_or_rollback()

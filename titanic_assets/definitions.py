"""The code location: the three pipelines merged over one shared data layer.

Each pipeline package owns its assets, checks, jobs, schedules and sensors; this module only
adds the resources they share (the DuckDB warehouse I/O manager and resource).
"""

import dagster as dg

from titanic_assets import settings
from titanic_assets.automation import automation_condition_sensor
from titanic_assets.data_layer.resources import warehouse_resources

# The modules, not their ``defs``: Dagster refuses a code location module that holds more than
# one Definitions object at module scope.
from titanic_assets.feature_pipeline import definitions as feature_pipeline
from titanic_assets.inference_pipeline import definitions as inference_pipeline
from titanic_assets.training_pipeline import definitions as training_pipeline


def build_definitions(database: str | None = None) -> dg.Definitions:
    """All pipelines on the warehouse at ``database`` (default: $TITANIC_DUCKDB or data/).

    Every ``TITANIC_*`` setting is validated first, so a bad value stops the code location
    from loading with a message naming the variable (not a failure hours later in a tick).
    """
    settings.load()
    shared = dg.Definitions(
        resources=warehouse_resources(database),
        sensors=[automation_condition_sensor()],
        # Runs that are not one of the jobs (the automation sensor's, a backfill launched from
        # the asset graph) run their small steps in one process, like the jobs do.
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(
        feature_pipeline.defs, training_pipeline.defs, inference_pipeline.defs, shared
    )


defs = build_definitions()

"""titanic_assets: feature, training and batch-inference pipelines as Dagster assets.

Layers, top to bottom (imports only point down; ``tests/test_layering.py`` enforces it):
- ``definitions``, ``cli``, ``apps``, ``demo``: entry points.
- ``feature_pipeline``, ``training_pipeline``, ``inference_pipeline`` (+ ``automation``,
  ``partitions``):
  Dagster wiring, thin adapters over the layers below.
- ``data_layer``: the DuckDB warehouse (I/O manager, resource, DDL), the model registry and
  the other reads/writes of the warehouse.
- ``core``: plain pandas / XGBoost / GX rules with no Dagster, DuckDB or settings import; its
  functions take thresholds and paths as arguments.
- ``names`` (tables, asset keys, suites, jobs) and ``settings`` (every ``TITANIC_*`` variable,
  validated) are leaves; ``core`` uses ``names`` only.
"""

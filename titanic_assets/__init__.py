"""titanic_assets: feature, training and batch-inference pipelines as Dagster assets.

Layers, top to bottom (imports only point down):
- ``feature_pipeline``, ``training_pipeline``, ``inference_pipeline``: Dagster wiring.
- ``data_layer``: the DuckDB warehouse (I/O manager, resource, DDL) and the model registry.
- ``core``: plain pandas / XGBoost / GX code with no Dagster import.
"""

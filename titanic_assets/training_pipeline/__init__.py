"""Training pipeline: point-in-time training set -> XGBoost model -> registry version.

Assets in ``assets`` (group ``training_pipeline``), the ``training_pipeline`` and
``promote_model`` jobs in ``jobs``, the retrain sensor in ``sensors``; ``definitions.defs``
bundles them without resources (the top-level definitions add the shared warehouse).
"""

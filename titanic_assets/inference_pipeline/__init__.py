"""Batch inference pipeline: daily predictions with the champion, monitoring, closing the loop.

* ``assets`` — ``inference/predictions`` and ``monitoring/model_performance`` (daily partitions).
* ``checks`` — WARN checks on accuracy and drift, evaluated with the monitoring asset.
* ``jobs`` — the ``inference_pipeline`` job and its daily schedule.
* ``sensors`` — re-score today on a new champion; request retraining on drift/accuracy drop.
* ``definitions`` — ``defs`` without resources (merged with the shared ones at the top level).
"""

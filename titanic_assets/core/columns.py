"""What each column of the main warehouse tables means: the one home of the descriptions that
Dagster shows in an asset's Columns table (``dagster.TableColumn(description=...)``).

Keyed by column name, not by table: a column carries one meaning wherever it appears
(``passenger_id`` in the passengers, the feature store and the predictions), so writing it once
keeps the tables' pages from drifting apart. The I/O manager, the prediction and registry
schemas and the feature-store view all describe their columns from here;
``tests/test_column_descriptions.py`` fails when a main table gains an undescribed column.
"""

from __future__ import annotations

COLUMN_DESCRIPTIONS: dict[str, str] = {
    # --- passengers and features -------------------------------------------------------------
    "passenger_id": "Unique passenger id: the source's row id hashed (historical) or the "
    "generated hour and number (synthetic). Never a model input.",
    "event_time": "When the passenger arrived (naive UTC): the partition column of the hourly "
    "tables and the time training cutoffs and scoring days are cut by.",
    "source": "Where the row comes from: historical (the real passenger list) or synthetic "
    "(the hourly generator).",
    "batch_id": "The load that produced the row ('historical' or the hour, YYYY-MM-DD-HH:00): "
    "the key data-quality verdicts are recorded and certified by.",
    "pclass": "Ticket class: 1, 2 or 3.",
    "sex": "female or male.",
    "is_female": "1.0 for a woman, 0.0 for a man (model input).",
    "age": "Age in years; NULL when unknown (the model handles missing values).",
    "fare": "Ticket fare in pounds; NULL when unknown.",
    "sibsp": "Siblings and spouses aboard.",
    "parch": "Parents and children aboard.",
    "family_size": "sibsp + parch + 1: the passenger's family aboard, themselves included.",
    "is_alone": "1.0 when travelling without family (family_size 1).",
    "embarked": "Port of embarkation: C (Cherbourg), Q (Queenstown) or S (Southampton).",
    "embarked_c": "1.0 when embarked at Cherbourg.",
    "embarked_q": "1.0 when embarked at Queenstown.",
    "embarked_s": "1.0 when embarked at Southampton.",
    "survived": "The label: 1 survived, 0 died; NULL while not known yet.",
    # --- predictions ---------------------------------------------------------------------------
    "model_version": "The registry version (models.model_versions.version) that scored the row.",
    "predicted_survived": "The prediction: 1 survives (probability at or above the decision "
    "threshold), 0 dies.",
    "survival_probability": "The model's probability of survival, 0 to 1.",
    "predicted_at": "When the row was scored (naive UTC).",
    "run_id": "The Dagster run that wrote the row.",
    # --- monitoring ----------------------------------------------------------------------------
    "day": "The scored day (UTC) the row monitors.",
    "n_predictions": "Passengers of the day scored by this model version.",
    "n_labelled": "Of those, passengers whose outcome is known: the metrics count only these.",
    "accuracy": "Share of labelled passengers predicted right (on the holdout for a model "
    "version, on the day in monitoring).",
    "precision": "Of the passengers predicted to survive, the share who did.",
    "recall": "Of the passengers who survived, the share predicted to.",
    "f1": "Harmonic mean of precision and recall.",
    "brier": "Mean squared error of the probability against the outcome (lower is better).",
    "ece": "Expected calibration error: how far the probabilities are from observed rates.",
    "tn": "True negatives: predicted died, died.",
    "fp": "False positives: predicted survived, died.",
    "fn": "False negatives: predicted died, survived.",
    "tp": "True positives: predicted survived, survived.",
    "predicted_survival_rate": "Share of the day's passengers predicted to survive.",
    "actual_survival_rate": "Share of the labelled passengers who survived.",
    "training_survival_rate": "Survival rate of the model version's training rows.",
    "survival_rate_shift": "Predicted survival rate minus the training rate (label drift).",
    "max_psi": "Largest population stability index of any input against training (drift).",
    "max_psi_feature": "The input with the largest PSI.",
    "psi_by_feature": "PSI of every input against the version's training profile (JSON).",
    "reliability": "Predicted probability against observed survival per probability bin (JSON).",
    # --- segments and shadow challengers --------------------------------------------------------
    "segment": "Sex x ticket class cell, e.g. female/1 (core.segments: six cells).",
    "scored_at": "When the shadow challenger scored the row (naive UTC); never served.",
    "champion_version": "The champion that served the day's predictions.",
    "shadow_version": "The challenger scored in the shadow on the same passengers.",
    "champion_accuracy": "The champion's accuracy on the labelled passengers both scored.",
    "shadow_accuracy": "The shadow's accuracy on the same passengers.",
    "champion_f1": "The champion's F1 on the same passengers.",
    "shadow_f1": "The shadow's F1 on the same passengers.",
    "champion_brier": "The champion's Brier score on the same passengers.",
    "shadow_brier": "The shadow's Brier score on the same passengers.",
    "champion_ece": "The champion's expected calibration error on the same passengers.",
    "shadow_ece": "The shadow's expected calibration error on the same passengers.",
    "accuracy_difference": "Shadow minus champion accuracy: the mean per-passenger difference.",
    "accuracy_se": "Standard error of the paired accuracy difference.",
    "accuracy_ci_low": "Lower end of the difference's 95% interval.",
    "accuracy_ci_high": "Upper end of the difference's 95% interval.",
    "brier_difference": "Shadow minus champion Brier score (negative: the shadow is better).",
    "brier_se": "Standard error of the paired Brier difference.",
    "wins": "Passengers only the shadow predicted right.",
    "losses": "Passengers only the champion predicted right.",
    # --- registry ------------------------------------------------------------------------------
    "version": "Model version: an increasing integer, never reused.",
    "created_at": "When the version was registered (naive UTC).",
    "is_champion": "Whether this version serves (exactly one champion).",
    "roc_auc": "Holdout ROC AUC.",
    "params": "XGBoost parameters the version was trained with (JSON).",
    "features": "The model's input columns, in order (JSON list).",
    "metrics": "Every holdout and cross-validation figure of the training run (JSON).",
    "training_rows": "Rows the version was trained on.",
    "training_cutoff": "Latest event_time among the training rows.",
    "training_data_hash": "Hash of the training rows: same hash, same data.",
    "training_profile": "Distribution of each input in training, the baseline of drift (JSON).",
    "artifact": "The model in XGBoost's own UBJSON format (never pickle).",
    "artifact_sha256": "SHA-256 of the artifact.",
    "artifact_format": "The artifact's format (xgboost-ubj).",
    "signature": "HMAC of version, inputs and artifact under a key kept outside the warehouse: "
    "a version is served only if it verifies.",
    "training_window": "Which rows, time window and weights trained the version (JSON).",
}


def describe(column: str) -> str | None:
    """The description of ``column``, or None for a column of no main table."""
    return COLUMN_DESCRIPTIONS.get(column)

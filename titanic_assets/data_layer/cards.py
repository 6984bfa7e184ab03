"""Gather a version's model card from the registry and the monitoring tables.

:func:`card_facts` reads what :func:`titanic_assets.core.card.render_card` shows; the
command line (``titanic card``), the training asset's metadata and the apps' Models view all
call :func:`model_card`, so the card is one text wherever it is read.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

from titanic_assets.core.card import CardFacts, render_card
from titanic_assets.data_layer import monitoring_store, registry


def card_facts(conn: duckdb.DuckDBPyConnection, version: int) -> CardFacts:
    """Everything the card of ``version`` shows; :class:`registry.ModelNotFoundError`
    (naming the version and the known ones) when it does not exist."""
    meta = registry.get_version(conn, version)
    try:
        registry.load_model(conn, meta.version)
        signature = "Verified: the artifact matches its SHA-256 and its HMAC signature."
    except registry.RegistryError as error:
        signature = f"**Does not verify** (it would be refused for serving): {error}"
    decisions = registry.promotions(conn)
    mine = decisions[decisions["version"] == meta.version]
    champion = registry.champion(conn)
    return CardFacts(
        version=meta.version,
        created_at=meta.created_at,
        role=_role(meta, champion, mine),
        features=list(meta.features),
        params=dict(meta.params),
        metrics=dict(meta.metrics),
        training_rows=meta.training_rows,
        training_cutoff=meta.training_cutoff,
        training_window=meta.training_window,
        training_data_hash=meta.training_data_hash,
        artifact_sha256=meta.artifact_sha256,
        run_id=meta.run_id,
        signature_status=signature,
        live_champion=_records(monitoring_store.read_version_performance(conn, meta.version)),
        live_shadow=_records(
            monitoring_store.read_shadow_comparison(conn, shadow_version=meta.version)
        ),
        live_segments=_records(monitoring_store.read_version_segments(conn, meta.version)),
        decisions=_records(mine[[c for c in mine.columns if c != "event_id"]]),
    )


def model_card(conn: duckdb.DuckDBPyConnection, version: int) -> str:
    """The Markdown card of ``version``."""
    return render_card(card_facts(conn, version))


def _role(meta: registry.ModelVersion, champion: registry.ModelVersion | None, log) -> str:
    if meta.is_champion:
        return "champion (serves every prediction)"
    if champion is not None and meta.version > champion.version:
        return f"challenger in the shadow of champion v{champion.version} (never served)"
    if (log["action"] == "promote").any():
        return "retired (was champion)"
    return "not serving (lost to a later champion)"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        )
    return out

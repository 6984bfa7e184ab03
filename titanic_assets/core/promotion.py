"""Champion/challenger: when a newly trained model replaces the serving one (no Dagster here).

Both models are scored on the same rows, on two evaluation sets, and compared pair by pair:

* **recent** — the holdout passengers of the latest ``eval_window_hours`` before the training
  cutoff: what the models will face next. Holdout membership is a hash of the passenger id
  (:func:`titanic_assets.core.model.holdout_mask`), so neither model ever trained on them.
* **holdout** — every holdout passenger since 1912: the guard against a broken model.

A difference counts only when it is significant: on the rows where exactly one model is right
(``wins`` for the challenger, ``losses`` for the champion) ``z = (wins - losses) /
sqrt(wins + losses)`` (McNemar's paired test) must reach ``policy.z`` (1.645, one-sided 5%).
The rule, in order:

1. no champion → promote (first model);
2. the champion cannot be loaded → keep (a human decides: promote_model);
3. enough recent rows (``min_recent_rows``) and the challenger significantly better on them →
   promote if its holdout accuracy is within ``holdout_tolerance`` of the champion's, **or** the
   champion has degraded (recent accuracy more than ``degradation_margin`` below its own holdout
   accuracy: the holdout describes a regime that is gone); otherwise keep;
4. significantly worse on recent → keep;
5. otherwise (too few recent rows, or level on them) → promote only if significantly better on
   the holdout.

Ties and insignificant gains keep the champion, so repeated retraining on a stable regime does
not flap between near-equal models, and a demoted model can only return by being significantly
better. The cost: a real but small improvement waits until enough rows prove it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: At most this many challengers are scored in the shadow of the champion each day.
MAX_SHADOWS = 2


def shadow_candidates(versions: list[int], champion: int | None) -> list[int]:
    """The versions scored in the shadow: the newest non-champions trained after the champion
    (higher version numbers), at most :data:`MAX_SHADOWS`, newest first.

    Older versions are not shadows: they lost (or were replaced) already, and scoring them
    every day would only cost time.
    """
    if champion is None:
        return []
    newer = sorted((int(v) for v in versions if int(v) > int(champion)), reverse=True)
    return newer[:MAX_SHADOWS]


@dataclass(frozen=True)
class PromotionPolicy:
    """Thresholds of the rule above; documented in docs/retraining.md."""

    z: float = 1.645
    holdout_tolerance: float = 0.02
    degradation_margin: float = 0.10
    min_recent_rows: int = 30


@dataclass(frozen=True)
class Comparison:
    """Challenger vs champion on one evaluation set (same rows for both)."""

    name: str
    n: int
    challenger_accuracy: float | None
    champion_accuracy: float | None
    wins: int
    losses: int

    @property
    def z(self) -> float:
        """McNemar's statistic, signed: positive when the challenger is right more often."""
        discordant = self.wins + self.losses
        return (self.wins - self.losses) / math.sqrt(discordant) if discordant else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "z": self.z}


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    #: What decided, logged in ``models.promotions.evidence``: ``first_model``,
    #: ``champion_unloadable``, ``recent``, ``holdout`` (training time) or ``live_shadow``.
    evidence: str = "holdout"


def compare(
    name: str, labels, challenger_prob, champion_prob, threshold: float = 0.5
) -> Comparison:
    """Score both models' probabilities on the same labelled rows."""
    y = np.asarray(labels, dtype=np.int64)
    challenger_right = (np.asarray(challenger_prob) >= threshold).astype(np.int64) == y
    champion_right = (np.asarray(champion_prob) >= threshold).astype(np.int64) == y
    n = int(y.size)
    return Comparison(
        name=name,
        n=n,
        challenger_accuracy=float(challenger_right.mean()) if n else None,
        champion_accuracy=float(champion_right.mean()) if n else None,
        wins=int(np.sum(challenger_right & ~champion_right)),
        losses=int(np.sum(champion_right & ~challenger_right)),
    )


def decide(
    challenger: int,
    champion: int | None,
    recent: Comparison | None,
    holdout: Comparison | None,
    champion_error: str | None = None,
    policy: PromotionPolicy | None = None,
) -> Decision:
    """Apply the module's rule; the reason names the versions and the figures behind it."""
    p = policy or PromotionPolicy()
    if champion is None:
        return Decision(
            True, f"v{challenger} promoted: first model, no champion yet", "first_model"
        )
    keep = f"v{champion} stays champion"
    if champion_error is not None or holdout is None:
        return Decision(
            False,
            f"v{challenger} registered but NOT promoted: champion v{champion} could not be "
            f"evaluated ({champion_error}); compare and promote by hand (promote_model job)",
            "champion_unloadable",
        )
    figures = _figures(challenger, champion, recent, holdout)
    if recent is not None and recent.n >= p.min_recent_rows and recent.z >= p.z:
        if holdout.challenger_accuracy >= holdout.champion_accuracy - p.holdout_tolerance:
            return Decision(True, f"v{challenger} promoted: better on recent passengers, "
                                  f"holdout guard held; {figures}", "recent")  # fmt: skip
        if recent.champion_accuracy < holdout.champion_accuracy - p.degradation_margin:
            return Decision(True, f"v{challenger} promoted: regime change, champion degraded "
                                  f"on recent passengers and the challenger is significantly "
                                  f"better there; {figures}", "recent")  # fmt: skip
        return Decision(False, f"v{challenger} not promoted: better on recent passengers but "
                               f"worse on the holdout while the champion has not degraded; "
                               f"{figures}; {keep}", "holdout")  # fmt: skip
    if recent is not None and recent.n >= p.min_recent_rows and recent.z <= -p.z:
        return Decision(False, f"v{challenger} not promoted: worse on recent passengers; "
                               f"{figures}; {keep}", "recent")  # fmt: skip
    if holdout.z >= p.z:
        return Decision(True, f"v{challenger} promoted: significantly better on the holdout; "
                              f"{figures}", "holdout")  # fmt: skip
    return Decision(False, f"v{challenger} not promoted: no significant gain (a tie keeps the "
                           f"champion); {figures}; {keep}")  # fmt: skip


@dataclass(frozen=True)
class LivePolicy:
    """Thresholds of :func:`decide_live` (documented in docs/model-monitoring.md)."""

    z: float = 1.645
    min_days: int = 3
    min_labelled: int = 200


def decide_live(
    shadow: int, champion: int, days: list[dict], policy: LivePolicy | None = None
) -> Decision:
    """Promote a shadow on live evidence: the same labelled passengers, pooled over days.

    ``days``: the ``monitoring.shadow_comparison`` rows of this shadow against this champion
    (one per day; keys ``n_labelled``, ``wins``, ``losses``, ``champion_brier``,
    ``shadow_brier``). Promote only when ALL hold:

    1. at least ``min_days`` days and ``min_labelled`` labelled passengers in all;
    2. pooled McNemar ``z = (wins - losses) / sqrt(wins + losses) >= z``;
    3. the shadow is better (more right than wrong against the champion) on a majority of
       those days, so one lucky day cannot carry the pool;
    4. its pooled Brier score is not worse than the champion's (better decisions must not
       come with worse probabilities).

    Why it does not flap: one day can never decide (rule 1 and 3); a demoted champion has a
    lower version than the new one and is never a shadow again
    (:func:`shadow_candidates`), so live evidence only moves forward.
    """
    p = policy or LivePolicy()
    used = [d for d in days if int(d.get("n_labelled") or 0) > 0]
    n = sum(int(d["n_labelled"]) for d in used)
    wins = sum(int(d["wins"]) for d in used)
    losses = sum(int(d["losses"]) for d in used)
    discordant = wins + losses
    z = (wins - losses) / math.sqrt(discordant) if discordant else 0.0
    better_days = sum(1 for d in used if int(d["wins"]) > int(d["losses"]))
    brier = {
        side: sum(float(d[f"{side}_brier"]) * int(d["n_labelled"]) for d in used) / n
        for side in ("champion", "shadow")
    } if n else {"champion": math.nan, "shadow": math.nan}  # fmt: skip
    figures = (
        f"live shadow v{shadow} vs champion v{champion} over {len(used)} day(s), {n} labelled: "
        f"{wins} only-shadow right, {losses} only-champion right (z={z:+.2f}), better on "
        f"{better_days} day(s), Brier {brier['shadow']:.4f} vs {brier['champion']:.4f}"
    )
    keep = f"v{champion} stays champion"
    if len(used) < p.min_days or n < p.min_labelled:
        return Decision(False, f"v{shadow} not promoted: too little live evidence yet "
                               f"(needs {p.min_days} days, {p.min_labelled} labelled); "
                               f"{figures}; {keep}", "live_shadow")  # fmt: skip
    if z < p.z or better_days * 2 <= len(used) or brier["shadow"] > brier["champion"]:
        return Decision(False, f"v{shadow} not promoted: live evidence not conclusive; "
                               f"{figures}; {keep}", "live_shadow")  # fmt: skip
    return Decision(True, f"v{shadow} promoted on live evidence: {figures}", "live_shadow")


def _figures(challenger: int, champion: int, *sets: Comparison | None) -> str:
    parts = []
    for c in sets:
        if c is None or c.n == 0:
            continue
        parts.append(
            f"{c.name} accuracy {c.challenger_accuracy:.4f} vs champion v{champion} "
            f"{c.champion_accuracy:.4f} (n={c.n}, z={c.z:+.2f})"
        )
    return "; ".join(parts)

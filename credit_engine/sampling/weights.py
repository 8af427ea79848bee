"""Each entity in scope: the class it is sampled as, its inclusion probability π and why.

π is ``min(1, c · ratio of the class)`` with one scale ``c`` for the plan, chosen so that the
probabilities add up to the planned sample size exactly (capping at 1 redistributes the excess
over the others); entities inside their class's frequency cap get π = 0, a key-area plan gives
every entity π = 1. π is held as an integer number of units of 10⁻⁹ — the precision the frame is
published at — so that the sum is exact and the draw gives each entity exactly the π published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_engine.sampling.plan import Plan
from credit_engine.sampling.policy import GRADES, UNGRADED_AS, Terms

DECIMALS = 9
UNIT = 10**DECIMALS

#: Why an entity has its π (the ``reason`` column).
REASONS = {
    "policy": "the class's ratio under the policy, scaled to the planned size",
    "policy_capped": "the scaled ratio exceeded 1: drawn with certainty, the excess spread over the others",
    "ungraded": "no grade held on the date: sampled at the regular (B) ratio, since no one is exempt",
    "frequency_cap": "inspected within the class's minimum interval: not drawn in this plan",
    "key_area": "key-area item: full coverage of the scope regardless of class",
}


@dataclass(frozen=True)
class Weights:
    """``frame``: uscc (sorted), grade (as held, or NA), sampled_as, last_inspected, reason,
    pi_units and pi; ``scale`` is c (NaN for full coverage)."""

    frame: pd.DataFrame
    sample_size: int
    scale: float
    terms: Terms

    def summary(self) -> list[dict]:
        """Per class: entities in scope, capped, eligible, the policy's ratio and range, the
        realised π of an eligible entity, whether it lies in the range, and the expected draws (Σπ)."""
        f = self.frame
        rows = []
        for grade in GRADES:
            part = f[f["sampled_as"] == grade]
            eligible = part[part["pi_units"] > 0]
            terms = self.terms.classes[grade]
            pi = float(eligible["pi_units"].mean() / UNIT) if len(eligible) else 0.0
            low, high = terms.ratio_range
            rows.append(
                {
                    "class": grade,
                    "in_scope": len(part),
                    "ungraded": int(part["grade"].isna().sum()),
                    "capped": int((part["reason"] == "frequency_cap").sum()),
                    "eligible": len(eligible),
                    "policy_ratio": terms.ratio,
                    "policy_range": terms.ratio_range,
                    "min_interval_days": terms.min_interval_days,
                    "pi": pi,
                    # a planned size scales every class alike and can take a class outside its range:
                    # said, not hidden (full coverage of a key area is outside by design)
                    "within_range": not len(eligible) or low - 1e-9 <= pi <= high + 1e-9,
                    "expected_draws": float(part["pi_units"].sum() / UNIT),
                }
            )
        return rows


def inclusion_units(size: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """π proportional to ``size`` and capped at 1, Σπ = n, in integer units summing to n·UNIT.

    The scale is found over the distinct sizes (a handful: one per class), so this is linear in
    the number of entities; rounding to units gives the largest remainders their extra unit,
    ties in frame order, so the result is deterministic."""
    size = np.asarray(size, dtype=float)
    positive = size > 0
    count = int(positive.sum())
    if not 0 < n <= count:
        raise ValueError(f"cannot draw {n} of {count} entities that may be drawn")
    values, counts = np.unique(size[positive], return_counts=True)
    values, counts = values[::-1], counts[::-1]  # largest first: the first to reach 1
    tail_mass = np.cumsum((values * counts)[::-1])[::-1]
    capped_before = np.concatenate([[0], np.cumsum(counts)[:-1]])
    scale = np.inf
    for k in range(len(values)):
        scale = (n - capped_before[k]) / tail_mass[k]
        if scale * values[k] <= 1 + 1e-12:
            break
    exact = np.minimum(1.0, scale * size) * UNIT
    units = np.floor(exact).astype(np.int64)
    deficit = n * UNIT - int(units.sum())
    frac = exact - units
    if deficit > 0:
        room = positive & (units < UNIT)
        order = np.flatnonzero(room)[np.argsort(-frac[room], kind="stable")]
        units[order[:deficit]] += 1
    elif deficit < 0:  # float error made the floors overshoot: take back from the smallest remainders
        room = positive & (units > 0) & (units < UNIT)
        order = np.flatnonzero(room)[np.argsort(frac[room], kind="stable")]
        units[order[:-deficit]] -= 1
    return units, float(scale)


def planned_size(plan: Plan, in_scope: int, policy_mass: float) -> int:
    """The sample size: given, or the base ratio of the scope, or the policy's own Σ ratio."""
    if plan.sample_size is not None:
        return plan.sample_size
    if plan.base_ratio is not None:
        return max(1, round(plan.base_ratio * in_scope))
    return max(1, round(policy_mass))


def compute_weights(population: pd.DataFrame, terms: Terms, plan: Plan) -> Weights:
    """Weights of ``population`` (uscc sorted and unique, grade, last_inspected) under a plan."""
    if population.empty:
        raise ValueError("no entity is in the plan's scope")
    grade = population["grade"].astype("string")
    sampled_as = grade.fillna(UNGRADED_AS)
    codes = pd.Categorical(sampled_as, categories=GRADES).codes
    if (codes < 0).any():
        raise ValueError(f"unknown classes {sorted(set(sampled_as[codes < 0]))}")
    frame = pd.DataFrame(
        {
            "uscc": population["uscc"].to_numpy(),
            "grade": grade.to_numpy(),
            "sampled_as": sampled_as.to_numpy(),
            "last_inspected": population["last_inspected"].to_numpy(dtype="datetime64[D]"),
        }
    )
    if terms.full_coverage(plan.key_area):
        n = len(frame)
        frame["reason"] = "key_area"
        frame["pi_units"] = np.full(n, UNIT, dtype=np.int64)
        scale = float("nan")
    else:
        ratio = np.array([terms.classes[g].ratio for g in GRADES])[codes]
        interval = np.array([terms.classes[g].min_interval_days or 0 for g in GRADES])[codes]
        since = (np.datetime64(plan.as_of, "D") - frame["last_inspected"].to_numpy()).astype("timedelta64[D]")
        capped = plan.frequency_caps & (interval > 0) & ~np.isnat(since) & (since.astype(np.int64) < interval)
        size = np.where(capped, 0.0, ratio)
        n = planned_size(plan, len(frame), float(size.sum()))
        units, scale = inclusion_units(size, n)
        frame["reason"] = np.select(
            [capped, units == UNIT, grade.isna().to_numpy()], ["frequency_cap", "policy_capped", "ungraded"], "policy"
        )
        frame["pi_units"] = units
    frame["pi"] = frame["pi_units"] / UNIT
    return Weights(frame, n, scale, terms)

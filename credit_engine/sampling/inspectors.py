"""Random inspectors for the drawn entities (the second 随机 of 双随机), with recusal.

For each drawn entity, in draw order, an inspector is eligible unless they belong to the
entity's registration authority (when the plan asks for cross-assignment), inspected the entity
last time, or declared a conflict with it. Among the eligible, the least loaded are taken, ties
broken at random: loads stay balanced (within one of each other when nothing is recused), and the
same seed gives the same assignment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


class NoEligibleInspector(ValueError):
    """Recusal left fewer inspectors than the plan needs for an entity."""


def assign(drawn: pd.DataFrame, pool: pd.DataFrame, per_entity: int, cross_assignment: bool,
           rng: np.random.Generator, last_inspectors: Mapping[str, Sequence[str]] | None = None) -> list[list[str]]:
    """Inspector codes for each row of ``drawn`` (uscc, authority), from ``pool`` (code,
    authority, conflicts: a collection of USCCs), in the order of ``drawn``."""
    last_inspectors = last_inspectors or {}
    codes = pool["code"].to_numpy(dtype=object)
    position = {code: i for i, code in enumerate(codes)}
    authority = pool["authority"].fillna("").to_numpy(dtype=object)
    conflicted: dict[str, list[int]] = {}
    for i, usccs in enumerate(pool["conflicts"]):
        for uscc in usccs:
            conflicted.setdefault(uscc, []).append(i)
    load = np.zeros(len(pool), dtype=np.int64)
    out = []
    for uscc, home in zip(drawn["uscc"], drawn["authority"], strict=True):
        eligible = np.ones(len(pool), dtype=bool)
        if cross_assignment and isinstance(home, str) and home:
            eligible &= authority != home
        eligible[[position[c] for c in last_inspectors.get(uscc, ()) if c in position]] = False
        eligible[conflicted.get(uscc, [])] = False
        tie_break = rng.random(len(pool))
        candidates = np.flatnonzero(eligible)
        if len(candidates) < per_entity:
            raise NoEligibleInspector(
                f"entity {uscc}: {len(candidates)} of {len(pool)} inspectors remain after recusal "
                f"(own authority {home!r}, last inspectors, declared conflicts); the plan needs {per_entity}")
        chosen = candidates[np.lexsort((tie_break[candidates], load[candidates]))[:per_entity]]
        load[chosen] += 1
        out.append(sorted(codes[chosen].tolist()))
    return out

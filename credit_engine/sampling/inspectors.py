"""Random inspectors for the drawn entities (the second 随机 of 双随机), with recusal.

For each drawn entity, in draw order, an inspector is eligible unless they belong to the
entity's registration authority (when the plan asks for cross-assignment), inspected the entity
last time, or declared a conflict with it. Among the eligible, the least loaded are taken, ties
broken at random: loads stay balanced (within one of each other when nothing is recused), and the
same seed gives the same assignment. In a joint inspection (部门联合抽查: a pool of several
departments) each entity gets at least one inspector of every department taking part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


class NoEligibleInspector(ValueError):
    """Recusal left fewer inspectors than the plan needs for an entity."""


def assign(
    drawn: pd.DataFrame,
    pool: pd.DataFrame,
    per_entity: int,
    cross_assignment: bool,
    rng: np.random.Generator,
    last_inspectors: Mapping[str, Sequence[str]] | None = None,
) -> list[list[str]]:
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
    department = pool["department"].to_numpy(dtype=object) if "department" in pool else np.full(len(pool), "")
    joint = sorted(set(department)) if len(set(department)) > 1 else []
    if len(joint) > per_entity:
        raise NoEligibleInspector(
            f"a joint inspection of {len(joint)} departments needs at least {len(joint)} "
            f"inspectors per entity, one of each; the plan asks for {per_entity}"
        )
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
                f"(own authority {home!r}, last inspectors, declared conflicts); the plan needs {per_entity}"
            )
        ranked = candidates[np.lexsort((tie_break[candidates], load[candidates]))]
        first: list[int] = []
        for name in joint:  # the least loaded eligible inspector of each department first
            own = ranked[department[ranked] == name]
            if not len(own):
                raise NoEligibleInspector(
                    f"entity {uscc}: no inspector of {name} remains after recusal "
                    f"(own authority {home!r}, last inspectors, declared conflicts)"
                )
            first.append(own[0])
        chosen = np.array(first + [i for i in ranked if i not in first][: per_entity - len(first)], dtype=np.int64)
        load[chosen] += 1
        out.append(sorted(codes[chosen].tolist()))
    return out

"""The year after the as-of date, drawn only for judging models: every entity still operating on
the as-of date is inspected once in the following 365 days (a census draw, so that the judgement
of a 20 000-entity province is not a few hundred rows), and the inspection finds a problem with
the entity's ``p_problem``.

The generator's latent risk does not move after the as-of date, so the probability of a problem
knowable from an entity's state on that date, projected one year forward in expectation, is
``p_problem`` itself: the ceiling no model of the sources can beat except by chance. Nothing here
reaches ``sources/``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dates import NA_DAY, to_date
from .world import World

FOLLOWING_DAYS = 365


def following_year(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """uscc, the day of its inspection in (as_of, as_of + 365], whether it found a problem, and
    the knowable probability of one (the ceiling's score)."""
    ent = world.entities
    operating = np.flatnonzero(ent["end"].to_numpy() == NA_DAY)
    days = world.as_of + 1 + rng.integers(0, FOLLOWING_DAYS, len(operating))
    p = ent["p_problem"].to_numpy()[operating]
    problem = rng.random(len(operating)) < p
    return pd.DataFrame(
        {
            "uscc": ent["uscc"].to_numpy()[operating],
            "inspected_on": [to_date(int(d)).isoformat() for d in days],
            "problem": problem.astype(int),
            "p_knowable": p,
        }
    )

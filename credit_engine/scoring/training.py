"""Training rows that do not fool us (DESIGN.md "Training without fooling ourselves").

A row is an entity on a month-end as-of date T: its features as the store knew them on T, its
label whether an inspection in (T, T + 12 months] found a problem (as known now), and its weight
the inverse of the inclusion probability the draw recorded for that inspection (1 where none was
recorded). Entities not inspected in the window have no label and are left out; entities not yet
established on T are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from credit_engine.calendar import add_months
from credit_engine.features import History, features_as_of
from credit_engine.records import end_of_day, known_at_mask

HORIZON_MONTHS = 12


@dataclass(frozen=True)
class TrainingSet:
    X: pd.DataFrame
    y: np.ndarray
    weight: np.ndarray
    as_of: np.ndarray  # the spine date of each row (datetime64[D])

    def __len__(self) -> int:
        return len(self.y)

    def where(self, mask: np.ndarray) -> TrainingSet:
        return TrainingSet(self.X[mask], self.y[mask], self.weight[mask], self.as_of[mask])


def month_ends(first: date, last: date) -> list[date]:
    """Every month end from the one of ``first`` to the last one on or before ``last``."""
    out: list[date] = []
    month = date(first.year, first.month, 1)
    while True:
        end = add_months(month, 1) - timedelta(days=1)
        if end > last:
            return out
        out.append(end)
        month = add_months(month, 1)


def spine_dates(labels_known_until: date, months: int) -> list[date]:
    """``months`` month ends whose label windows close by ``labels_known_until``."""
    last = add_months(labels_known_until, -HORIZON_MONTHS)
    return month_ends(add_months(last, -months + 1), last)[-months:]


def training_set(history: History, dates: list[date]) -> TrainingSet:
    """Rows for every date of the spine; ``history`` must reach the end of the last label window."""
    if add_months(max(dates), HORIZON_MONTHS) > history.last:
        raise ValueError(f"labels for {max(dates)} need history until {add_months(max(dates), HORIZON_MONTHS)}")
    ins = history.kind("inspection")
    # the results as known when the labels close: a correction recorded later is not yet known,
    # and the version it replaced still is
    known = known_at_mask(ins["recorded_at"], ins["superseded_at"], end_of_day(history.last))
    ins = ins[known & (ins["e"].to_numpy() >= 0) & ins["category"].isin(["ok", "problem"]).fillna(False).to_numpy()]
    ins = ins.sort_values("event_date", kind="stable")
    rows, event = ins["e"].to_numpy(), ins["event_date"].to_numpy(dtype="datetime64[D]")
    problem = (ins["category"] == "problem").to_numpy(dtype=bool)
    pi = pd.to_numeric(ins["extra2"], errors="coerce").to_numpy(dtype=float)
    established = history.entities["established_on"].to_numpy(dtype="datetime64[D]")
    parts = []
    for day in dates:
        t, end = np.datetime64(day, "D"), np.datetime64(add_months(day, HORIZON_MONTHS), "D")
        window = (event > t) & (event <= end)
        n = len(history.entities)
        inspected = np.bincount(rows[window], minlength=n) > 0
        found = np.bincount(rows[window & problem], minlength=n) > 0
        first_pi = np.full(n, np.nan)
        first_pi[rows[window][::-1]] = pi[window][::-1]  # earliest inspection of the window wins
        keep = inspected & (np.isnat(established) | (established <= t))
        X = features_as_of(history, day)[keep]
        weight = np.where(np.isnan(first_pi[keep]), 1.0, 1.0 / first_pi[keep])
        parts.append((X, found[keep].astype(int), weight, np.full(int(keep.sum()), t)))
    return TrainingSet(
        pd.concat([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )

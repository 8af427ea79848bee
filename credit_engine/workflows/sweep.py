"""Automatic end of publicity (RULES.md §3): no application needed once the maximum period passes.

The as-of record already judges publicity from the rules (``records.publicity_on``); the sweep
makes the end part of the stored state — a new version of each fact, flagged, with its end date —
so that everything reading the store (exports, sharing feeds) stops publishing it too. It runs
in set-based SQL over a staged list of fact ids, so a province is one pass, and it is idempotent:
a fact already swept is not selected again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, DateTime, Engine, bindparam, text

from credit_engine.records import PUBLICITY_ENDED_FLAG
from credit_engine.rules import RuleSet, rules_for
from credit_engine.rules.penalty import lengthened_end, split_categories, tier_penalty
from credit_engine.store.models import Fact
from credit_engine.store.repository import Store, now_utc

#: Kinds whose publication ends by a period (lists end by removal, recorded as end_date).
SWEPT_KINDS = ("penalty", "serious")


@dataclass(frozen=True)
class SweepReport:
    as_of: date
    rule_set_id: str
    examined: int
    ended: dict[str, int]
    seconds: float


def add_months_array(days: pd.Series, months: np.ndarray) -> pd.Series:
    """``calendar.add_months`` for many dates at once (clamped to the month end)."""
    stamps = pd.to_datetime(days)
    total = stamps.dt.year.to_numpy() * 12 + stamps.dt.month.to_numpy() - 1 + months
    first = pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1, "day": 1}))
    day = np.minimum(stamps.dt.day.to_numpy(), first.dt.days_in_month.to_numpy())
    return (first + pd.to_timedelta(day - 1, unit="D")).dt.date


def publicity_months(candidates: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    """Months each candidate is published under ``rules`` (-1: never published)."""
    serious_months = 12 * rules.serious_list.publicity_years.value
    tiers = rules.penalty.tiers
    cache: dict[tuple[str, float | None], int] = {}

    def months(category: str | None, amount: float | None) -> int:
        key = (category or "其他", None if amount is None or np.isnan(amount) else float(amount))
        if key not in cache:  # the tier depends on the categories and the fine, not on the date
            tiering = tier_penalty(split_categories([key[0]]), key[1], date(2000, 1, 1), False, rules)
            cache[key] = getattr(tiers, tiering.tier.value).publicity_months.value if tiering.published else -1
        return cache[key]

    is_penalty = (candidates["kind"] == "penalty").to_numpy()
    out = np.full(len(candidates), serious_months, dtype=np.int64)
    amounts = candidates["amount_yuan"].astype(float).to_numpy()
    out[is_penalty] = [months(c, a) for c, a in zip(candidates["category"][is_penalty], amounts[is_penalty])]
    return out


def _candidates(conn: Connection, as_of: date) -> pd.DataFrame:
    """Current, active, not yet swept facts; a list entry already removed stays removed (its
    legal basis is the removal, not the end of a period). A penalty's end date (处罚有效期) can
    only lengthen its publicity, and only a restricting one's (``penalty.lengthened_end``)."""
    kinds = ", ".join(f"'{k}'" for k in SWEPT_KINDS)
    return pd.read_sql_query(text(f"""
        SELECT id, kind, category, amount_yuan, event_date, end_date FROM fact
        WHERE superseded_at IS NULL AND status = 'active' AND kind IN ({kinds}) AND event_date <= :d
          AND (flags IS NULL OR flags NOT LIKE :swept) AND (kind = 'penalty' OR end_date IS NULL OR end_date > :d)
    """), conn, params={"d": as_of, "swept": f"%{PUBLICITY_ENDED_FLAG}%"})


def sweep(engine: Engine, as_of: date, actor: str = "publicity-sweep") -> SweepReport:
    """End the publicity of every fact whose maximum period has passed on ``as_of``, in one transaction."""
    started = time.perf_counter()
    rules = rules_for(as_of)
    with engine.begin() as conn:
        candidates = _candidates(conn, as_of)
        months = publicity_months(candidates, rules)
        published = months >= 0
        ends = pd.Series([None] * len(candidates), dtype=object)
        if published.any():
            ends[published] = add_months_array(candidates.loc[published, "event_date"], months[published]).to_numpy()
            restriction = pd.to_datetime(candidates["end_date"]).dt.date
            for i in np.flatnonzero(published & (candidates["kind"] == "penalty").to_numpy() & restriction.notna().to_numpy()):
                longer = lengthened_end(split_categories([candidates["category"].iat[i] or "其他"]), ends.iat[i],
                                        restriction.iat[i])
                ends.iat[i] = longer or ends.iat[i]
        ended = published & np.array([e is not None and e <= as_of for e in ends], dtype=bool)
        done = candidates[ended].assign(publicity_end=ends[ended].to_numpy())
        moment = now_utc()
        _supersede(conn, done[["id", "publicity_end"]], moment)
        counts = {k: int((done["kind"] == k).sum()) for k in SWEPT_KINDS}
        Store(conn).audit(moment, actor, "publicity_sweep", as_of.isoformat(),
                          {"rule_set": rules.id, "examined": len(candidates), "ended": counts})
    return SweepReport(as_of, rules.id, len(candidates), counts, time.perf_counter() - started)


def _supersede(conn: Connection, ended: pd.DataFrame, moment: datetime) -> None:
    """Close each listed version and add the next, flagged and carrying its end date, set-based."""
    if ended.empty:
        return
    store = Store(conn)
    conn.exec_driver_sql("CREATE TEMP TABLE sweep_stage (id BIGINT PRIMARY KEY, publicity_end DATE)"
                         + (" ON COMMIT DROP" if store.postgres else ""))
    store.insert_frame("sweep_stage", ended.assign(publicity_end=pd.to_datetime(ended["publicity_end"])))
    columns = [c.name for c in Fact.__table__.columns if c.name != "id"]
    computed = {
        "version": "f.version + 1",
        "publicity_end": "s.publicity_end",
        "flags": f"CASE WHEN f.flags IS NULL OR f.flags = '' THEN '{PUBLICITY_ENDED_FLAG}' "
                 f"ELSE f.flags || ',{PUBLICITY_ENDED_FLAG}' END",
        "recorded_at": ":moment",
        "superseded_at": "NULL",
    }
    chosen = ", ".join(computed.get(c, f"f.{c}") for c in columns)
    at = bindparam("moment", value=moment, type_=DateTime)
    conn.execute(text("UPDATE fact SET superseded_at = :moment WHERE id IN (SELECT id FROM sweep_stage)").bindparams(at))
    conn.execute(text(f"INSERT INTO fact ({', '.join(columns)}) SELECT {chosen} FROM fact f "
                      "JOIN sweep_stage s ON s.id = f.id").bindparams(at))
    conn.exec_driver_sql("DROP TABLE sweep_stage")

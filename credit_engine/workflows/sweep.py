"""Automatic end of publicity (RULES.md §3): no application needed once the maximum period passes.

The as-of record already judges publicity from the rules (``records.publicity_on``); the sweep
makes the end part of the stored state — a new version of each fact, flagged, with its end date —
so that everything reading the store (exports, sharing feeds) stops publishing it too. It runs
in set-based SQL over a staged list of fact ids, so a province is one pass, and it is idempotent:
a fact already swept is not selected again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, DateTime, Engine, bindparam, text

from credit_engine.records import PUBLICITY_ENDED_FLAG, penalty_facts
from credit_engine.rules import judge_penalty, province_of, rules_for
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


def penalty_ends(candidates: pd.DataFrame, as_of: date) -> list[date | None]:
    """Each penalty's end of publicity under the set in force on ``as_of`` (``rules.TRANSITION``),
    with its province's values: a stated end (公示截止期) as given, else the judged tier's period
    from publication or decision, as the set counts. None: never published."""
    ends: list[date | None] = []
    cache: dict[tuple, date | None] = {}
    for row in candidates.itertuples(index=False):
        mapping = row._asdict()
        rules = rules_for(as_of, province_of(mapping["subject_uscc"]))
        detail = json.loads(mapping["detail_json"]) if mapping["detail_json"] else {}
        facts = penalty_facts(mapping, detail, rules)
        key = (rules.id, rules.province, facts)
        if key not in cache:  # many penalties share their content and dates
            tiering = judge_penalty(facts, rules)
            cache[key] = tiering.publicity_end if tiering.published else None
        ends.append(cache[key])
    return ends


def _candidates(conn: Connection, as_of: date) -> pd.DataFrame:
    """Current, active, not yet swept facts; a list entry already removed stays removed (its
    legal basis is the removal, not the end of a period). A penalty's end date (处罚有效期) can
    only lengthen its publicity, and only an extending restriction's (``penalty.lengthened_end``)."""
    kinds = ", ".join(f"'{k}'" for k in SWEPT_KINDS)
    return pd.read_sql_query(
        text(f"""
        SELECT id, kind, subject_uscc, category, amount_yuan, event_date, end_date, publicity_end, severity, flags,
               CASE WHEN kind = 'penalty' THEN detail_json END AS detail_json FROM fact
        WHERE superseded_at IS NULL AND status = 'active' AND kind IN ({kinds}) AND event_date <= :d
          AND (flags IS NULL OR flags NOT LIKE :swept) AND (kind = 'penalty' OR end_date IS NULL OR end_date > :d)
    """),
        conn,
        params={"d": as_of, "swept": f"%{PUBLICITY_ENDED_FLAG}%"},
    )


def sweep(engine: Engine, as_of: date, actor: str = "publicity-sweep") -> SweepReport:
    """End the publicity of every fact whose maximum period has passed on ``as_of``, in one transaction."""
    started = time.perf_counter()
    rules = rules_for(as_of)
    with engine.begin() as conn:
        candidates = _candidates(conn, as_of)
        is_penalty = (candidates["kind"] == "penalty").to_numpy()
        ends = pd.Series([None] * len(candidates), dtype=object)
        if is_penalty.any():
            ends[is_penalty] = penalty_ends(candidates[is_penalty], as_of)
        if (~is_penalty).any():  # the serious list: its years under the set in force on as_of
            years = np.full(int((~is_penalty).sum()), 12 * rules.serious_list.publicity_years.value, dtype=np.int64)
            ends[~is_penalty] = add_months_array(candidates.loc[~is_penalty, "event_date"], years).to_numpy()
        ended = np.array([e is not None and e <= as_of for e in ends], dtype=bool)
        done = candidates[ended].assign(publicity_end=ends[ended].to_numpy())
        moment = now_utc()
        _supersede(conn, done[["id", "publicity_end"]], moment)
        counts = {k: int((done["kind"] == k).sum()) for k in SWEPT_KINDS}
        Store(conn).audit(
            moment,
            actor,
            "publicity_sweep",
            as_of.isoformat(),
            {"rule_set": rules.id, "examined": len(candidates), "ended": counts},
        )
    return SweepReport(as_of, rules.id, len(candidates), counts, time.perf_counter() - started)


def _supersede(conn: Connection, ended: pd.DataFrame, moment: datetime) -> None:
    """Close each listed version and add the next, flagged and carrying its end date, set-based."""
    if ended.empty:
        return
    store = Store(conn)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE sweep_stage (id BIGINT PRIMARY KEY, publicity_end DATE)"
        + (" ON COMMIT DROP" if store.postgres else "")
    )
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
    conn.execute(
        text("UPDATE fact SET superseded_at = :moment WHERE id IN (SELECT id FROM sweep_stage)").bindparams(at)
    )
    conn.execute(
        text(
            f"INSERT INTO fact ({', '.join(columns)}) SELECT {chosen} FROM fact f JOIN sweep_stage s ON s.id = f.id"
        ).bindparams(at)
    )
    conn.exec_driver_sql("DROP TABLE sweep_stage")

"""When history loaded after the fact became known (``credit-engine ingest --backfill``).

The store's recorded time is when it learned a fact, so a province's history loaded on the day
the service starts would be invisible as of every earlier date and no model could be trained on
it. A backfill instead records each *new* fact at the time it became public in the system it was
exported from: its event date plus the kind's publication lag, never later than the ingest. That
time is a proxy, so each such fact carries the flag ``known_time_assumed`` and the ingest's audit
row names the lags used. Later changes to those facts are versioned at their real time as usual.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, DateTime, bindparam, text

FLAG = "known_time_assumed"
#: A fact version written from facts already stored (a masked-ID link, a requeued row placed by
#: registration data) is recorded when the last of its inputs was known, not when it was derived,
#: and carries this flag: a store that learned everything in order would have derived it then.
DERIVED_FLAG = "known_time_derived"

#: Days from the event to its publication, per fact kind (assumptions, tagged U in the sense of
#: RULES.md: configurable, not confirmed by a rule's wording).
PUBLICATION_LAG_DAYS: dict[str, int] = {
    "penalty": 10,  # 双公示: within 7 working days of the decision
    "license": 10,  # 双公示: within 7 working days of the decision
    "abnormal": 0,  # the listing decision date is its publication date on GSXT
    "serious": 0,
    "court": 0,  # the court publishes on filing
    "registration": 0,  # approval date = GSXT update
    "role": 0,  # key-person changes are filed with the registration change
    "tax": 0,  # the event date is already the publication date (April of the following year)
    "inspection": 30,  # results published within 20 working days of the inspection
    "commitment": 0,
    "complaint": 0,
}


def known_from(facts: pd.DataFrame, moment: datetime) -> pd.Series:
    """Assumed knowledge time of each fact (naive UTC, like ``recorded_at``); ``moment`` where
    the event date is missing or the lag would reach past the ingest."""
    lag = pd.to_timedelta(facts["kind"].map(PUBLICATION_LAG_DAYS).fillna(0).astype("int64"), unit="D")
    known = pd.to_datetime(facts["event_date"]) + lag
    return known.where(known.notna() & (known < pd.Timestamp(moment)), pd.Timestamp(moment)).astype("datetime64[us]")


def as_stamp(value: object) -> pd.Timestamp:
    """A recorded time as read back from either store (text on SQLite, datetime on PostgreSQL)."""
    return pd.Timestamp(value)


def derived_at(inputs: list[object], moment: datetime) -> datetime:
    """When a derivation from ``inputs`` (their recorded times; None for unknown) became possible:
    the latest of them, never later than ``moment`` (now), and ``moment`` when one is unknown."""
    if not inputs or any(value is None or pd.isna(value) for value in inputs):
        return moment
    return min(max(as_stamp(value) for value in inputs), pd.Timestamp(moment)).to_pydatetime()


#: A store knowing less than this share of its facts on a date knows "almost nothing" then.
ALMOST_NOTHING = 0.01
#: Events older than this before the first ingest of a store are history, not news.
HISTORY_DAYS = 30
_COUNTS = text(
    "SELECT SUM(CASE WHEN recorded_at < :cut THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN recorded_at >= :cut THEN 1 ELSE 0 END) FROM fact"
).bindparams(bindparam("cut", type_=DateTime))


def unknown_on(conn: Connection, day: date) -> str | None:
    """Why a build, training or grading as of ``day`` would see (almost) nothing: every fact,
    or nearly every one, was recorded after it (history loaded without ``--backfill``); None
    when the store knew enough on that day."""
    from credit_engine.records import end_of_day

    known, later = (int(n or 0) for n in conn.execute(_COUNTS, {"cut": end_of_day(day)}).one())
    if not later or known > ALMOST_NOTHING * (known + later):
        return None
    return (
        f"{'no' if not known else f'only {known:,}'} facts known on {day}: {later:,} facts were recorded "
        f"after {day}; history loaded after the fact needs `ingest --backfill`"
    )


def history_warning(conn: Connection, since: datetime) -> str | None:
    """After an ingest begun at ``since`` without ``--backfill``: a warning when the store knew
    nothing before it and the files hold events of years past, which no earlier date will see."""
    earlier = conn.execute(
        text("SELECT 1 FROM fact WHERE recorded_at < :t LIMIT 1").bindparams(bindparam("t", type_=DateTime)),
        {"t": since},
    ).first()
    if earlier is not None:
        return None
    first = conn.execute(text("SELECT MIN(event_date) FROM fact")).scalar()
    if first is None or pd.Timestamp(first) >= pd.Timestamp(since) - timedelta(days=HISTORY_DAYS):
        return None
    return (
        f"these files hold events from {pd.Timestamp(first).date()} on, but the store knew nothing before this "
        f"ingest: every fact is recorded as learned now, so nothing is known on any earlier date (a build, "
        f"training or grading as of a past date sees none of it). History exported from another system needs "
        f"`ingest --backfill`, which records each fact at its assumed publication time."
    )

"""When history loaded after the fact became known (``credit-engine ingest --backfill``).

The store's recorded time is when it learned a fact, so a province's history loaded on the day
the service starts would be invisible as of every earlier date and no model could be trained on
it. A backfill instead records each *new* fact at the time it became public in the system it was
exported from: its event date plus the kind's publication lag, never later than the ingest. That
time is a proxy, so each such fact carries the flag ``known_time_assumed`` and the ingest's audit
row names the lags used. Later changes to those facts are versioned at their real time as usual.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

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

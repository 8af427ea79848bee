"""Abnormal-list entries heading for the serious list (RULES.md §5; 企业信息公示暂行条例 Art.17).

An enterprise still on the 经营异常名录 after ``to_serious_after_years`` moves to the 严重违法失信名单,
and it is warned ``warning_days_before``. This is the regulators' worklist of both: who must be
warned now, and whose transfer is due. The transfer itself is the authority's decision; it comes
back as a serious-list row (ground ``abnormal_three_years``), which takes the entry off this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BindParameter, Connection, Date, DateTime, String, bindparam, text

from credit_engine.calendar import add_months
from credit_engine.records import end_of_day
from credit_engine.rules import rules_for


@dataclass(frozen=True)
class Transfer:
    uscc: str
    name: str | None
    region_code: str | None
    listed_on: date
    reason: str
    warn_from: date
    due_on: date
    stage: str  # "warn": in the warning period; "due": the years have passed
    # an entry whose transfer was later repaired (early removal from the serious list) stays off the list

    @classmethod
    def of(cls, row, years: int, days: int, as_of: date) -> Transfer:
        listed = row.event_date if isinstance(row.event_date, date) else date.fromisoformat(str(row.event_date)[:10])
        due = add_months(listed, 12 * years)
        return cls(
            row.subject_uscc,
            row.name,
            row.region_code,
            listed,
            row.category,
            due - timedelta(days=days),
            due,
            "due" if due <= as_of else "warn",
        )


#: Abnormal-list entries known on ``:day``, not removed by then, listed on or before ``:latest``,
#: of enterprises not yet moved to the serious list for it.
_DUE = """
    SELECT f.subject_uscc, e.name, e.region_code, f.event_date, f.category FROM fact f
    LEFT JOIN entity e ON e.uscc = f.subject_uscc
    WHERE f.kind = 'abnormal' AND f.status = 'active' AND f.subject_uscc IS NOT NULL
      AND f.recorded_at < :cut AND (f.superseded_at IS NULL OR f.superseded_at >= :cut)
      AND f.event_date <= :latest AND (f.end_date IS NULL OR f.end_date > :day)
      AND NOT EXISTS (SELECT 1 FROM fact s WHERE s.subject_uscc = f.subject_uscc AND s.kind = 'serious'
                      AND s.category = 'abnormal_three_years' AND s.status IN ('active', 'repaired')
                      AND s.event_date >= f.event_date
                      AND s.recorded_at < :cut AND (s.superseded_at IS NULL OR s.superseded_at >= :cut))
      {regions}
    ORDER BY f.event_date, f.subject_uscc
"""


def transfers_due(conn: Connection, as_of: date, regions: tuple[str, ...] = ()) -> list[Transfer]:
    """Entries whose warning period has begun on ``as_of`` (oldest first), within ``regions``
    (region-code prefixes; none: everywhere), under the rule set in force that day."""
    rules = rules_for(as_of).abnormal_list
    years, days = rules.to_serious_after_years.value, rules.warning_days_before.value
    # a day of slack: add_months clamps 29 February, so it does not run backwards exactly
    latest = add_months(as_of + timedelta(days=days + 1), -12 * years)
    within = [f"e.region_code LIKE :r{i}" for i in range(len(regions))]
    sql = _DUE.format(regions=f"AND ({' OR '.join(within)})" if within else "")
    typed: list[BindParameter[Any]] = [
        bindparam("latest", type_=Date),
        bindparam("day", type_=Date),
        bindparam("cut", type_=DateTime),
        *(bindparam(f"r{i}", type_=String) for i in range(len(regions))),
    ]
    params = {"latest": latest, "day": as_of, "cut": end_of_day(as_of)} | {
        f"r{i}": f"{r}%" for i, r in enumerate(regions)
    }
    rows = conn.execute(text(sql).bindparams(*typed), params)
    return [t for t in (Transfer.of(row, years, days, as_of) for row in rows) if t.warn_from <= as_of]

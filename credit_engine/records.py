"""The credit record of one entity as it stood on a date, and its public view (RULES.md §3, §7).

Every change to a fact — a corrected export, a repair, an objection mark, a withdrawal — is a
new version recorded when it happened (``store.repository.Store.supersede``). So the record as
of T is simply each fact's version that was current at the end of day T (Beijing time), with
its publicity judged under the rule set in force on T. Nothing else is needed to reproduce
exactly what a regulator would have seen on T.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, bindparam, or_, select, text

from credit_engine.calendar import add_months
from credit_engine.identifiers import mask_ids_in_text
from credit_engine.rules import RuleSet, province_of, rules_for
from credit_engine.rules.penalty import PenaltyFacts, PenaltyTiering, Tier, judge_penalty, split_categories
from credit_engine.store.models import Entity, Fact
from credit_engine.store.repository import OBJECTION_FLAG, OBJECTION_KEPT_FLAG, now_utc

#: Beijing is UTC+8; recorded times are naive UTC.
BEIJING = timedelta(hours=8)
#: Set by ``credit-engine publicity-sweep`` once the maximum publicity period has passed.
PUBLICITY_ENDED_FLAG = "publicity_ended"
#: Detail keys set at ingest when the source states the tier (``severity`` holds it) or the
#: publicity end (公示截止期, ``publicity_end`` holds it): the issuing authority's decision, used as given.
TIER_STATED = "tier_stated"
END_STATED = "end_stated"
#: Flags that describe the publication state rather than the source data (not review flags).
STATE_FLAGS = frozenset({OBJECTION_FLAG, OBJECTION_KEPT_FLAG, PUBLICITY_ENDED_FLAG})
#: The transition between rule sets (old records under a new set) is decided in ``rules.TRANSITION``.


class Publicity(StrEnum):
    PUBLISHED = "published"
    NOT_PUBLISHED = "not_published"
    ENDED = "publicity_ended"
    REPAIRED = "repaired"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"
    INTERNAL = "internal"


#: Kinds kept for supervision only, never shown to the public (RULES.md §7).
INTERNAL_KINDS = frozenset({"tax", "commitment", "complaint", "person_bar"})
#: What the public view shows of a fact's detail, per kind; everything else stays internal.
PUBLIC_DETAIL = {
    "penalty": ("party_name", "violation_type", "facts_text", "basis", "content"),
    "license": ("party_name", "document_name", "certificate", "licence_no", "content", "valid_from"),
    "abnormal": ("name", "reason", "listed_by", "removal_reason", "removed_by"),
    "serious": ("name", "reason", "listed_by", "removal_reason", "removed_by"),
    "court": ("court", "basis_doc", "published_on", "conduct", "performance"),
    "inspection": ("inspection_type", "result"),
    "registration": (
        "name",
        "market_type",
        "legal_rep_name",
        "established_on",
        "industry_code",
        "address",
        "authority",
        "reg_status",
        "business_scope",
    ),
    "role": (),
}


#: The one definition of "the version current at instant :cut" (naive UTC), for every as-of query.
KNOWN_AT = "recorded_at < :cut AND (superseded_at IS NULL OR superseded_at >= :cut)"


def known_at_mask(recorded_at: pd.Series, superseded_at: pd.Series, cut: datetime) -> np.ndarray:
    """``KNOWN_AT`` for fact versions already in memory (the features of many dates at once)."""
    stamp = np.datetime64(cut, "us")
    recorded = recorded_at.to_numpy(dtype="datetime64[us]")
    superseded = superseded_at.to_numpy(dtype="datetime64[us]")
    return (recorded < stamp) & (np.isnat(superseded) | (superseded >= stamp))


def fact_ref(fact_key: str) -> str:
    """The public name of a fact: fact keys may carry a person's pseudonym, which stays internal."""
    return hashlib.sha256(fact_key.encode()).hexdigest()[:16]


def _spellings(field: str, value: str) -> list[str]:
    """How a source's free text may write a corrected value: an amount with or without decimals
    or thousands separators (a whole amount without them), a date as ISO or as 2025年3月1日."""
    if field == "amount_yuan":
        amount = round(float(value), 2)  # 5.98 万元 is stored as 59800.00000000001 yuan: the text says 59800
        whole = amount == int(amount)
        return [
            f"{amount:,.2f}",
            f"{amount:.2f}",
            f"{amount:,.0f}" if whole else f"{amount:,.2f}",
            f"{amount:.0f}" if whole else f"{amount:.2f}",
        ]
    if field in ("event_date", "end_date"):
        day = date.fromisoformat(value)
        return [value, f"{day.year}年{day.month}月{day.day}日", f"{day.year}年{day.month:02d}月{day.day:02d}日"]
    return [value]


def as_corrected(text: object, corrected: dict | None) -> object:
    """A source text with the values an objection corrected written as corrected (the record's
    columns show the new values; the decision's text still named the old ones)."""
    if not isinstance(text, str) or not corrected:
        return text
    for name, (old, new) in corrected.get("fields", {}).items():
        if not old or not new or old == new:
            continue
        spelt = dict(zip(_spellings(name, old), _spellings(name, new)))
        for before, after in sorted(spelt.items(), key=lambda pair: -len(pair[0])):
            if name == "amount_yuan":  # an amount only where it stands alone, not inside a longer number
                text = re.sub(rf"(?<![\d.,]){re.escape(before)}(?![\d])", after, text)
            else:
                text = text.replace(before, after)
    return text


def end_of_day(day: date) -> datetime:
    """The last instant of a Beijing calendar day, as naive UTC: the as-of cut for recorded times."""
    return datetime.combine(day + timedelta(days=1), time()) - BEIJING


@dataclass(frozen=True)
class FactView:
    fact_key: str
    ref: str
    version: int
    kind: str
    event_date: date | None
    end_date: date | None
    category: str | None
    severity: str | None
    amount_yuan: float | None
    document_no: str | None
    authority: str | None
    publicity: Publicity
    basis: str
    publicity_end: date | None
    under_objection: bool
    objection_recorded: bool
    flags: tuple[str, ...]
    detail: dict
    person_name: str | None
    person_masked_id: str | None
    person_key: str | None
    recorded_at: datetime
    #: penalties: the tier judged, whether a rule derived it (False: stated by the source) and which
    tier: str | None = None
    tier_derived: bool | None = None
    tier_rule: str | None = None


@dataclass(frozen=True)
class EntityRecord:
    uscc: str
    as_of: date
    rule_set_id: str
    entity: dict
    facts: list[FactView] = field(default_factory=list)

    def public_view(self) -> dict:
        """Only what a rule publishes: no scores, classes, flags, pseudonyms or identity numbers
        (a text field naming a party's ID number shows it masked)."""
        shown = [f for f in self.facts if f.publicity is Publicity.PUBLISHED and f.kind != "registration"]
        return {
            "uscc": self.uscc,
            "as_of": self.as_of.isoformat(),
            "entity": {k: _no_ids(self.entity.get(k)) for k in PUBLIC_DETAIL["registration"] if k in self.entity},
            "records": [
                {
                    "ref": f.ref,
                    "kind": f.kind,
                    "event_date": _iso(f.event_date),
                    "end_date": _iso(f.end_date),
                    "category": _no_ids(f.category),
                    "document_no": _no_ids(f.document_no),
                    "authority": _no_ids(f.authority),
                    "amount_yuan": f.amount_yuan if f.kind == "penalty" else None,
                    "publicity_end": _iso(f.publicity_end),
                    "under_objection": f.under_objection,
                    "objection_recorded": f.objection_recorded,
                    "person_name": _no_ids(f.person_name) if f.kind == "role" else None,
                    "detail": {
                        k: _no_ids(as_corrected(f.detail.get(k), f.detail.get("corrected")))
                        for k in PUBLIC_DETAIL.get(f.kind, ())
                    },
                    "corrected_on": (f.detail.get("corrected") or {}).get("on"),
                }
                for f in shown
            ],
        }

    def persons(self) -> list[dict]:
        """Who held a role on the as-of date (masked IDs only); of several legal representatives
        named without the old one ending, the latest appointment (as ``linking.latest_legal_rep``)."""
        held = [
            f
            for f in self.facts
            if f.kind == "role"
            and f.publicity is Publicity.PUBLISHED
            and (f.end_date is None or f.end_date > self.as_of)
        ]
        reps = sorted((f for f in held if f.category == "legal_representative"), key=lambda f: f.event_date or date.min)
        return [
            {
                "pseudonym": f.person_key,
                "name": f.person_name,
                "masked_id": f.person_masked_id,
                "role": f.category,
                "start": _iso(f.event_date),
                "end": _iso(f.end_date),
            }
            for f in held
            if f.category != "legal_representative" or f is reps[-1]
        ]


#: One entity's fact versions known at ``cut`` with no event after ``day``, the source row left
#: out. Built once: a statement built per call costs more than the read (an API's entity lookup).
_RECORD = (
    select(*(c for c in Fact.__table__.columns if c.name != "raw_json"))
    .where(
        Fact.subject_uscc == bindparam("uscc"),
        text(KNOWN_AT).bindparams(bindparam("cut", type_=DateTime)),
        or_(Fact.event_date.is_(None), Fact.event_date <= bindparam("day", type_=Date)),
    )
    .order_by(Fact.kind, Fact.event_date, Fact.id)
)
_ENTITY = select(Entity.code_status, Entity.entity_type, Entity.region_code).where(Entity.uscc == bindparam("uscc"))


def record_as_of(conn: Connection, uscc: str, as_of: date) -> EntityRecord:
    """The record of ``uscc`` exactly as the store knew it at the end of ``as_of``."""
    rows = conn.execute(_RECORD, {"uscc": uscc, "cut": end_of_day(as_of), "day": as_of}).mappings().all()
    rules = rules_for(as_of, province_of(uscc))  # the transition choice: rules.TRANSITION
    facts = [_view(row, as_of, rules) for row in rows]
    return EntityRecord(uscc, as_of, rules.id, _entity(conn, uscc, facts), facts)


def today_in_beijing() -> date:
    return (now_utc() + BEIJING).date()


def current_record(conn: Connection, uscc: str) -> EntityRecord:
    return record_as_of(conn, uscc, today_in_beijing())


def _entity(conn: Connection, uscc: str, facts: list[FactView]) -> dict:
    """Registration data as of the date: the latest registration fact then known."""
    registrations = [f for f in facts if f.kind == "registration"]
    base = conn.execute(_ENTITY, {"uscc": uscc}).mappings().first()
    entity = dict(base) if base else {}
    if registrations:
        entity.update(registrations[-1].detail)
    return entity


def _view(row, as_of: date, rules: RuleSet) -> FactView:
    detail = json.loads(row["detail_json"]) if row["detail_json"] else {}
    flags = tuple(f for f in (row["flags"] or "").split(",") if f)
    publicity, basis, publicity_end = publicity_on(row, detail, as_of, rules)
    tiering = penalty_tiering(row, detail, rules) if row["kind"] == "penalty" else None
    return FactView(
        fact_key=row["fact_key"],
        ref=fact_ref(row["fact_key"]),
        version=row["version"],
        kind=row["kind"],
        event_date=row["event_date"],
        end_date=row["end_date"],
        category=row["category"],
        severity=row["severity"],
        amount_yuan=row["amount_yuan"],
        document_no=row["document_no"],
        authority=row["authority"],
        publicity=publicity,
        basis=basis,
        publicity_end=publicity_end,
        under_objection=OBJECTION_FLAG in flags,
        objection_recorded=OBJECTION_KEPT_FLAG in flags,
        flags=tuple(f for f in flags if f not in STATE_FLAGS),
        detail=detail,
        person_name=row["person_name"],
        person_masked_id=row["person_masked_id"],
        person_key=row["person_key"],
        recorded_at=row["recorded_at"],
        tier=tiering.tier.value if tiering else None,
        tier_derived=tiering.tier_derived if tiering else None,
        tier_rule=tiering.tier_rule if tiering else None,
    )


def publicity_on(row, detail: dict, as_of: date, rules: RuleSet | None = None) -> tuple[Publicity, str, date | None]:
    """Publicity of one fact version on ``as_of`` under ``rules`` (default: the set in force that
    day, with the entity's province applied: ``rules.TRANSITION``)."""
    rules = rules or rules_for(as_of, province_of(row["subject_uscc"]))
    if row["status"] == "withdrawn":
        return Publicity.WITHDRAWN, "decision revoked or changed: withdrawn from publicity (RULES.md §3)", None
    if row["status"] == "repaired":
        return Publicity.REPAIRED, "credit repair approved: publicity and sharing stopped, record kept internally", None
    if row["status"] == "removed":
        return Publicity.REMOVED, "removed after an objection (RULES.md §4): record kept internally", None
    if row["kind"] in INTERNAL_KINDS:
        return Publicity.INTERNAL, f"{row['kind']} records are kept for supervision only (RULES.md §7)", None
    if PUBLICITY_ENDED_FLAG in (row["flags"] or "") and row["publicity_end"] and row["publicity_end"] <= as_of:
        return (
            Publicity.ENDED,
            f"maximum publicity period ended {row['publicity_end']:%Y-%m-%d} (publicity sweep, {rules.id})",
            row["publicity_end"],
        )
    if row["kind"] == "penalty":
        return _penalty(row, detail, as_of, rules)
    if row["kind"] in ("abnormal", "serious", "court") and row["end_date"] and row["end_date"] <= as_of:
        return Publicity.REMOVED, f"removed from the list on {row['end_date']:%Y-%m-%d}", None
    if row["kind"] == "serious":
        years = rules.serious_list.publicity_years.value
        end = add_months(row["event_date"], 12 * years)
        source = rules.serious_list.publicity_years.source
        if end <= as_of:
            return Publicity.ENDED, f"serious-list publicity of {years} years ended ({rules.id}: {source})", end
        return Publicity.PUBLISHED, f"serious list, published {years} years until {end} ({rules.id}: {source})", end
    return Publicity.PUBLISHED, f"{row['kind']} records are public", None


def _day(value: object) -> date | None:
    if value is None or value == "" or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def penalty_facts(row, detail: dict, rules: RuleSet) -> PenaltyFacts:
    """What a stored penalty version says, for ``judge_penalty``: the stated tier and end are the
    issuing authority's (detail ``tier_stated``, ``end_stated``); a natural person is a party with
    no USCC or an individual business (prefix 92)."""
    area = detail.get("key_area")
    uscc = row["subject_uscc"] if isinstance(row["subject_uscc"], str) else None
    category = row["category"] if isinstance(row["category"], str) else "其他"
    amount = row["amount_yuan"]
    return PenaltyFacts(
        split_categories([category]),
        None if amount is None or pd.isna(amount) else float(amount),
        cast(date, _day(row["event_date"])),  # a penalty's decision date is required at ingest
        bool(area) and area in rules.repair.key_areas.value,
        _day(row["end_date"]),
        stated_tier=Tier(row["severity"]) if detail.get(TIER_STATED) and isinstance(row["severity"], str) else None,
        stated_end=_day(row["publicity_end"]) if detail.get(END_STATED) else None,
        published_on=_day(detail.get("published_on")),
        simple_procedure=bool(detail.get("simple_procedure")),
        natural_person=not uscc or uscc.startswith("92"),
    )


def penalty_tiering(row, detail: dict, rules: RuleSet) -> PenaltyTiering:
    return judge_penalty(penalty_facts(row, detail, rules), rules)


def _penalty(row, detail: dict, as_of: date, rules: RuleSet) -> tuple[Publicity, str, date | None]:
    tiering = penalty_tiering(row, detail, rules)
    if not tiering.published:
        return Publicity.NOT_PUBLISHED, f"{tiering.basis} ({rules.id})", None
    if tiering.publicity_end and tiering.publicity_end <= as_of:
        return (
            Publicity.ENDED,
            f"{tiering.basis}; publicity ended {tiering.publicity_end:%Y-%m-%d} ({rules.id})",
            tiering.publicity_end,
        )
    return Publicity.PUBLISHED, f"{tiering.basis} ({rules.id})", tiering.publicity_end


def _no_ids(value: object) -> object:
    return mask_ids_in_text(value) if isinstance(value, str) else value


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None

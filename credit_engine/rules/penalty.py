"""Severity tier of an administrative penalty, and its publicity and repair dates (RULES.md §3).

Who sets the tier is the issuing authority (谁认定、谁修复): a tier or a publicity end (公示截止期)
stated by the source is taken as given. Only where the source is silent is the tier derived from
the decision's content, and the result says so (``tier_derived``) and names the rule that derived
it. Thresholds, periods and the way periods are counted come from the rule set passed in, so the
same penalty is judged differently under the 2021, 2025-12-25 and 2026-04-01 rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, cast

from credit_engine.calendar import CalendarNotCovered, add_months, add_working_days
from credit_engine.rules.model import PenaltyRules, RuleSet, TierRule

FINE = "罚款"
#: 处罚类别 vocabulary (DATA_CONTRACT), in the order a text is searched for them; any other text is treated
#: like 其他.
CATEGORY_NAMES = (
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "吊销营业执照",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
    "其他",
)
CATEGORIES = frozenset(CATEGORY_NAMES)
#: Tier names a source may state (公示类别 / 失信行为严重程度), in Chinese or English.
STATED_TIERS = {
    "轻微": "minor",
    "一般": "general",
    "严重": "serious",
    "minor": "minor",
    "general": "general",
    "serious": "serious",
    "较重": "serious",
}
_SEPARATORS = re.compile(r"[、;；,，/\s]+")


class Tier(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


@dataclass(frozen=True)
class PenaltyFacts:
    """What a penalty's publicity depends on: the decision, and what the source states about it."""

    categories: tuple[str, ...]
    amount_yuan: float | None
    decision_date: date
    key_area: bool = False
    #: the source's 处罚有效期: the end of a restriction
    restriction_until: date | None = None
    #: the issuing authority's own tier and publicity end (公示截止期), when the source states them
    stated_tier: Tier | None = None
    stated_end: date | None = None
    #: the source's publication date, when given
    published_on: date | None = None
    simple_procedure: bool = False
    natural_person: bool = False


@dataclass(frozen=True)
class PenaltyTiering:
    """Tier and dates of one penalty; ``repair_from`` is the earliest date repair may be applied for."""

    tier: Tier
    published: bool
    publicity_end: date | None
    repairable_early: bool
    basis: str
    repair_from: date | None = None
    #: False when the source stated the tier; True when a rule derived it (``tier_rule`` names it)
    tier_derived: bool = True
    tier_rule: str = ""
    #: the day the periods run from (publication or decision, as the rule set counts)
    counted_from: date | None = None
    end_stated: bool = False


def split_categories(categories: Sequence[str]) -> tuple[str, ...]:
    """Categories as separate names: source files join several with 、 or ; (DATA_CONTRACT)."""
    parts = (part for item in categories for part in _SEPARATORS.split(item.strip()) if part)
    return tuple(dict.fromkeys(parts))


def stated_tier(text: object) -> Tier | None:
    """A tier named by a source cell (轻微 / 一般 / 严重), or None."""
    if not isinstance(text, str):
        return None
    value = STATED_TIERS.get(text.strip().lower()) or STATED_TIERS.get(text.strip().removesuffix("失信"))
    return Tier(value) if value else None


def _yuan(amount: float) -> str:
    return f"{amount:,.0f} yuan"


def _classify(
    cats: tuple[str, ...], amount: float | None, rules: PenaltyRules, simple: bool, natural: bool
) -> tuple[Tier, bool, str, str]:
    """(tier, published, rule id, reason): the tier derived from the content (NDRC Order 36 pattern)."""
    serious = [c for c in cats if c in rules.serious_categories.value]
    if serious:
        return Tier.SERIOUS, True, "penalty.serious_categories", f"serious: {'、'.join(serious)}"
    assumed = [c for c in cats if c in rules.assumed_serious_categories.value]
    if assumed:
        return Tier.SERIOUS, True, "penalty.assumed_serious_categories", f"serious (assumed): {'、'.join(assumed)}"
    large = rules.serious_fine_min_yuan.value
    if amount is not None and amount >= large:
        return Tier.SERIOUS, True, "penalty.serious_fine_min_yuan", f"serious: fine {_yuan(amount)} >= {_yuan(large)}"
    fined = FINE in cats or bool(amount)
    if set(cats) <= set(rules.unpublished_categories.value) and not fined:
        return Tier.MINOR, False, "penalty.unpublished_categories", "minor: warning only, never published"
    general = [c for c in cats if c in rules.general_categories.value]
    if general:
        return Tier.GENERAL, True, "penalty.general_categories", f"general: {'、'.join(general)}"
    if simple:
        return Tier.MINOR, True, "penalty.simple_procedure_markers", "minor: simple procedure (简易程序)"
    others = [c for c in cats if c not in {*rules.unpublished_categories.value, *rules.minor_categories.value, FINE}]
    if others:
        return Tier.GENERAL, True, "penalty.general_categories", f"general: {'、'.join(others)} (not a minor category)"
    limit = rules.small_fine_max_yuan_natural if natural else rules.small_fine_max_yuan
    limit_id = "penalty.small_fine_max_yuan" + ("_natural" if natural else "")
    party = "natural person" if natural else "legal person"
    if fined and amount is None:
        return Tier.GENERAL, True, limit_id, "general: fine amount unknown, not treated as a small fine"
    if fined and cast(float, amount) > limit.value:  # fined with no amount returned above
        return (
            Tier.GENERAL,
            True,
            limit_id,
            f"general: fine {_yuan(cast(float, amount))} > small-fine limit {_yuan(limit.value)} ({party})",
        )
    rule = limit_id if fined else "penalty.minor_categories"
    return (
        Tier.MINOR,
        True,
        rule,
        f"minor: only {'、'.join(cats)}" + (f", fine {_yuan(cast(float, amount))} ({party})" if fined else ""),
    )


def lengthened_end(
    cats: tuple[str, ...], end: date | None, restriction_until: date | None, rules: PenaltyRules
) -> date | None:
    """The later end of publicity that a longer restriction gives (Order 45 Art.13(3): only
    限制开展生产经营活动 and 限制从业), or None."""
    extending = set(rules.extending_categories.value)
    if end is not None and restriction_until is not None and restriction_until > end and not extending.isdisjoint(cats):
        return restriction_until
    return None


@lru_cache(maxsize=65536)
def working_days_after(day: date, n: int) -> date:
    """``calendar.add_working_days``; Monday to Friday where the holiday calendar does not reach."""
    try:
        return add_working_days(day, n)
    except CalendarNotCovered:
        while n:
            day += timedelta(days=1)
            n -= day.weekday() < 5
        return day


def _repair_months(rule: TierRule, key_area: bool) -> int | None:
    if key_area and rule.key_area_repair_after_months.value is not None:
        return rule.key_area_repair_after_months.value
    return rule.repair_after_months.value


def _repair(
    cats: tuple[str, ...], start: date, end: date | None, months: int | None, rules: PenaltyRules
) -> tuple[date | None, str]:
    """(earliest repair date or None, explanation)."""
    blocked = [c for c in cats if c in rules.never_early_categories.value]
    if end is None:
        return None, "nothing to repair"
    if blocked:
        return None, f"never repairable early: {'、'.join(blocked)}"
    if months is None:
        return None, "no early stop in this tier"
    first = add_months(start, months)
    if first >= end:
        return None, "no early stop before publicity ends"
    when = f"after {months} months" if months else "as soon as obligations are met"
    return first, f"early repair from {first.isoformat()} ({when})"


def _start(p: PenaltyFacts, rules: PenaltyRules) -> tuple[date, str]:
    """The day periods run from, and how it was found."""
    if rules.counting.value == "decision":
        return p.decision_date, f"counted from the decision on {p.decision_date.isoformat()}"
    if p.published_on is not None:
        return p.published_on, f"counted from publication on {p.published_on.isoformat()} (source)"
    lag = rules.publication_lag_working_days.value
    day = working_days_after(p.decision_date, lag)
    return day, f"counted from publication, taken as {day.isoformat()} (decision + {lag} working days, assumed)"


def judge_penalty(p: PenaltyFacts, rules: RuleSet) -> PenaltyTiering:
    """Tier, publicity end and earliest repair of a penalty under ``rules`` (the set in force on the
    judged date, with the entity's province applied)."""
    cats = split_categories(p.categories)
    if not cats:
        raise ValueError("a penalty needs at least one category (use 其他 when unknown)")
    amount = None if p.amount_yuan is None or math.isnan(p.amount_yuan) else p.amount_yuan
    if amount is not None and amount < 0:
        raise ValueError(f"fine amount must not be negative, got {amount}")
    penalty = rules.penalty
    tier, published, rule, reason = _classify(cats, amount, penalty, p.simple_procedure, p.natural_person)
    derived = p.stated_tier is None
    if not derived:
        assert p.stated_tier is not None
        tier, rule, reason = p.stated_tier, "source", f"{p.stated_tier.value}: tier stated by the issuing authority"
        published = published or tier is not Tier.MINOR
    if p.stated_end is not None:
        published = True
    tier_rule: TierRule = getattr(penalty.tiers, tier.value)
    months = tier_rule.publicity_months.value
    start, counted = _start(p, penalty)
    end: date | None
    if p.stated_end is not None:
        end, longer = p.stated_end, None
        period = f"published until {end.isoformat()}, the end stated by the issuing authority (公示截止期)"
    else:
        end = add_months(start, months) if published else None
        longer = lengthened_end(cats, end, p.restriction_until, penalty)
        end = longer or end
        period = (
            f"published until {cast(date, end).isoformat()}, the end of its restriction (longer than the tier's {months} months)"
            if longer
            else f"published {months} months until {end.isoformat()}, {counted}"
            if end
            else "not published"
        )
    if longer:
        repair_from, repair_text = None, "no early stop while the restriction runs"
    else:
        repair_from, repair_text = _repair(cats, start, end, _repair_months(tier_rule, p.key_area), penalty)
    unknown = [c for c in cats if c not in CATEGORIES]
    parts = [
        f"{rules.id}: {reason}" + (f" (derived by {rule})" if derived else ""),
        f"unrecognised {'、'.join(unknown)} treated as 其他" if unknown else "",
        period,
        repair_text,
    ]
    basis = "; ".join(x for x in parts if x)
    return PenaltyTiering(
        tier,
        published,
        end,
        repair_from is not None,
        basis,
        repair_from,
        derived,
        rule,
        start if published else None,
        p.stated_end is not None,
    )


def tier_penalty(
    categories: Sequence[str],
    amount_yuan: float | None,
    decision_date: date,
    key_area: bool,
    rules: RuleSet,
    restriction_until: date | None = None,
    **stated: Any,
) -> PenaltyTiering:
    """``judge_penalty`` from its parts; ``stated`` takes the other fields of ``PenaltyFacts``."""
    return judge_penalty(
        PenaltyFacts(tuple(categories), amount_yuan, decision_date, key_area, restriction_until, **stated), rules
    )

"""Severity tier of an administrative penalty, and its publicity and repair dates (RULES.md §3).

The tier decides how long a penalty is published and from when early repair may be applied
for. Thresholds and periods come from the rule set passed in, so the same penalty is judged
differently under the 2021, 2025-12-25 and 2026-04-01 rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from credit_engine.calendar import add_months
from credit_engine.rules.model import PenaltyRules, RuleSet, TierRule

FINE = "罚款"
#: 处罚类别 vocabulary (DATA_CONTRACT); any other text is treated like 其他.
CATEGORIES = frozenset(
    {
        "警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "暂扣许可证件", "降低资质等级",
        "吊销许可证件", "吊销营业执照", "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业",
        "行政拘留", "其他",
    }
)
#: The categories that restrict for a period (行政处罚法 Art.9: licence suspended, qualification
#: lowered, production or business restricted or stopped, practice barred): only their period,
#: the source's 处罚有效期, can outlast a tier's publicity. Other penalties carry that column too.
RESTRICTING = frozenset({"暂扣许可证件", "降低资质等级", "限制开展生产经营活动", "责令停产停业", "限制从业"})
_SEPARATORS = re.compile(r"[、;；,，/\s]+")


class Tier(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


@dataclass(frozen=True)
class PenaltyTiering:
    """Tier and dates of one penalty; ``repair_from`` is the earliest date repair may be applied for."""

    tier: Tier
    published: bool
    publicity_end: date | None
    repairable_early: bool
    basis: str
    repair_from: date | None = None


def split_categories(categories: Sequence[str]) -> tuple[str, ...]:
    """Categories as separate names: source files join several with 、 or ; (DATA_CONTRACT)."""
    parts = (part for item in categories for part in _SEPARATORS.split(item.strip()) if part)
    return tuple(dict.fromkeys(parts))


def _yuan(amount: float) -> str:
    return f"{amount:,.0f} yuan"


def _classify(cats: tuple[str, ...], amount: float | None, rules: PenaltyRules) -> tuple[Tier, bool, str]:
    """(tier, published, reason) following SAMR Order 45 and our fine thresholds."""
    serious = [c for c in cats if c in rules.never_early_categories.value or c in rules.serious_categories.value]
    if serious:
        return Tier.SERIOUS, True, f"serious: {'、'.join(serious)}"
    large, small = rules.serious_fine_min_yuan.value, rules.small_fine_max_yuan.value
    if amount is not None and amount >= large:
        return Tier.SERIOUS, True, f"serious: fine {_yuan(amount)} >= {_yuan(large)}"
    fined = FINE in cats or bool(amount)
    if set(cats) <= set(rules.unpublished_categories.value) and not fined:
        return Tier.MINOR, False, "minor: warning only, never published"
    others = [c for c in cats if c not in {*rules.unpublished_categories.value, *rules.minor_categories.value, FINE}]
    if others:
        return Tier.GENERAL, True, f"general: {'、'.join(others)}"
    if fined and amount is None:
        return Tier.GENERAL, True, "general: fine amount unknown, not treated as a small fine"
    if fined and amount > small:
        return Tier.GENERAL, True, f"general: fine {_yuan(amount)} > small-fine limit {_yuan(small)}"
    return Tier.MINOR, True, f"minor: only {'、'.join(cats)}" + (f", fine {_yuan(amount)}" if fined else "")


def lengthened_end(cats: tuple[str, ...], end: date | None, restriction_until: date | None) -> date | None:
    """The later end of publicity that a restricting penalty's longer restriction gives, or None."""
    if end is not None and restriction_until is not None and restriction_until > end and not RESTRICTING.isdisjoint(cats):
        return restriction_until
    return None


def _repair_months(rule: TierRule, key_area: bool) -> int | None:
    if key_area and rule.key_area_repair_after_months.value is not None:
        return rule.key_area_repair_after_months.value
    return rule.repair_after_months.value


def _repair(
    cats: tuple[str, ...], decision_date: date, end: date | None, months: int | None, rules: PenaltyRules
) -> tuple[date | None, str]:
    """(earliest repair date or None, explanation)."""
    blocked = [c for c in cats if c in rules.never_early_categories.value]
    if end is None:
        return None, "nothing to repair"
    if blocked:
        return None, f"never repairable early: {'、'.join(blocked)}"
    if months is None:
        return None, "no early stop in this tier"
    start = add_months(decision_date, months)
    if start >= end:
        return None, "no early stop before publicity ends"
    when = f"after {months} months" if months else "as soon as obligations are met"
    return start, f"early repair from {start.isoformat()} ({when})"


def tier_penalty(
    categories: Sequence[str],
    amount_yuan: float | None,
    decision_date: date,
    key_area: bool,
    rules: RuleSet,
    restriction_until: date | None = None,
) -> PenaltyTiering:
    """Tier a penalty under *rules* (use ``rules_in_force(decision_date)``).

    *amount_yuan* is the fine in yuan (None or NaN when unknown); *key_area* says the penalty concerns
    one of ``rules.repair.key_areas`` (a longer repair minimum may apply). Periods run from the
    decision date; unrecognised categories count like 其他. A published penalty that restricts
    (``RESTRICTING``) until *restriction_until* (the source's 处罚有效期), later than the tier's end,
    stays published until the restriction ends, with no early repair meanwhile (SAMR Order 45:
    "or the length of a longer restriction", RULES.md §3).
    """
    cats = split_categories(categories)
    if not cats:
        raise ValueError("a penalty needs at least one category (use 其他 when unknown)")
    if amount_yuan is not None and math.isnan(amount_yuan):
        amount_yuan = None
    if amount_yuan is not None and amount_yuan < 0:
        raise ValueError(f"fine amount must not be negative, got {amount_yuan}")
    penalty = rules.penalty
    tier, published, reason = _classify(cats, amount_yuan, penalty)
    tier_rule: TierRule = getattr(penalty.tiers, tier.value)
    months = tier_rule.publicity_months.value
    end = add_months(decision_date, months) if published else None
    longer = lengthened_end(cats, end, restriction_until)
    if longer:
        end = longer
        repair_from, repair_text = None, "no early stop while the restriction runs"
    else:
        repair_from, repair_text = _repair(cats, decision_date, end, _repair_months(tier_rule, key_area), penalty)
    unknown = [c for c in cats if c not in CATEGORIES]
    parts = [
        f"{rules.id}: {reason}",
        f"unrecognised {'、'.join(unknown)} treated as 其他" if unknown else "",
        (f"published until {end.isoformat()}, the end of its restriction (longer than the tier's {months} months)"
         if longer else f"published {months} months until {end.isoformat()}" if end else "not published"),
        repair_text,
    ]
    basis = "; ".join(p for p in parts if p)
    return PenaltyTiering(tier, published, end, repair_from is not None, basis, repair_from)

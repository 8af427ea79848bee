"""A sampling policy as the terms a plan draws under (RULES.md §2).

The policy tables give each class a ratio range, a default ratio and a frequency ("less than once
a year", "once a year", "less than twice a year", "as needed"). A frequency of ``m`` draws per 12
months is read as a minimum interval of ``365 / m`` days since the entity's last inspection: it
separates A (over a year), B (a year) and C (about six months) where a count of draws in a
trailing year would not, and it needs only the last date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from credit_engine.rules import RuleSet, SamplingPolicy, rules_in_force, sampling_policy
from credit_engine.rules.model import Grade

GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")
#: Entities without a grade held on the date are sampled as B, the regular class: no class, and
#: so no missing class, is exempt from sampling (不免抽).
UNGRADED_AS: Grade = "B"


@dataclass(frozen=True)
class ClassTerms:
    """What the policy says for one class, with the ratio a plan chose inside the range."""

    grade: Grade
    ratio: float
    ratio_range: tuple[float, float]
    max_draws_per_12_months: float | None
    source: str

    @property
    def min_interval_days(self) -> int | None:
        """Days that must separate two inspections of one entity (None: as needed)."""
        m = self.max_draws_per_12_months
        return None if m is None else math.ceil(365 / m)


@dataclass(frozen=True)
class Terms:
    """A policy resolved for one plan: per-class terms and the key areas of the rule set in force."""

    policy: SamplingPolicy
    rule_set: RuleSet
    classes: Mapping[str, ClassTerms]

    @property
    def key_areas(self) -> tuple[str, ...]:
        return self.rule_set.key_areas.value

    def full_coverage(self, key_area: str | None) -> bool:
        """Key-area items get full coverage regardless of class (seed notice §5)."""
        return key_area is not None and self.policy.key_area_full_coverage.value


def resolve(
    policy_id: str | None, on: date, ratios: Mapping[str, float] | None = None, key_area: str | None = None
) -> Terms:
    """The terms of ``policy_id`` (default: the policy of the rule set in force on ``on``).

    ``ratios`` overrides a class's default ratio and must stay in the policy's range;
    ``key_area`` must be one of the rule set's key areas. Both raise ValueError naming the rule."""
    rule_set = rules_in_force(on)
    policy = sampling_policy(policy_id or rule_set.default_sampling_policy)
    ratios = dict(ratios or {})
    unknown = set(ratios) - set(GRADES)
    if unknown:
        raise ValueError(f"ratios for unknown classes {sorted(unknown)}: the classes are A, B, C, D")
    if key_area is not None and key_area not in rule_set.key_areas.value:
        raise ValueError(
            f"{key_area!r} is not a key area of rule set {rule_set.id} "
            f"(key areas: {', '.join(rule_set.key_areas.value)})"
        )
    classes: dict[str, ClassTerms] = {}
    for grade in GRADES:
        row = policy.for_class(grade)
        low, high = row.ratio.value
        ratio = ratios.get(grade, row.default_ratio.value)
        if ratio <= 0:
            raise ValueError(f"class {grade} ratio {ratio}: no class is exempt from sampling (不免抽, RULES.md §1)")
        if not low <= ratio <= high:
            raise ValueError(
                f"class {grade} ratio {ratio} is outside the range {low}–{high} of policy {policy.id} "
                f"({row.ratio.source})"
            )
        classes[grade] = ClassTerms(
            grade, ratio, (low, high), row.max_draws_per_12_months.value, f"{policy.id}: {row.ratio.source}"
        )
    return Terms(policy, rule_set, MappingProxyType(classes))

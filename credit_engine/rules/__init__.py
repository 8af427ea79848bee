"""Effective-dated rule sets and sampling policies, shipped as TOML data (``data/``).

An entity is judged under the rules in force on the as-of date (RULES.md): each file is a
complete snapshot, and the set in force on a date is the one with the latest
``effective_from`` on or before it.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from credit_engine.rules.model import RuleSet, SamplingPolicy
from credit_engine.rules.penalty import PenaltyFacts, PenaltyTiering, Tier, judge_penalty, tier_penalty

__all__ = [
    "rules_for",
    "NoRuleSetInForce",
    "TRANSITION",
    "PenaltyFacts",
    "judge_penalty",
    "province_of",
    "PenaltyTiering",
    "RuleSet",
    "SamplingPolicy",
    "Tier",
    "load_rule_sets",
    "load_sampling_policies",
    "rules_in_force",
    "sampling_policy",
    "tier_penalty",
]

_DATA = files(__name__) / "data"
#: Old records under a new set (RULES.md §3), decided here, where the set is picked: every record is
#: judged by the set in force on the judged date, whatever the set in force when it was decided. The
#: transitional articles of Orders 107 and 36 were not read (U), so this is a configurable assumption;
#: it never keeps a record public longer than the set in force allows, and every record's basis
#: names the set that judged it. A period the issuing authority stated itself (公示截止期) stands.
TRANSITION = (
    "every record is judged by the set in force on the judged date (RULES.md §3 'Old records under "
    "a new set'): a configurable assumption, the transitional articles were not read; a publicity end "
    "stated by the issuing authority stands"
)


class NoRuleSetInForce(LookupError):
    """The date precedes the earliest rule set."""


def _read(path: Traversable) -> dict:
    """Parse one TOML file; its stem must equal its id so a file cannot shadow another."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    stem = path.name.removesuffix(".toml")
    if data.get("id") != stem:
        raise ValueError(f"{path.name}: id {data.get('id')!r} does not match the file name")
    return data


def _toml_files(folder: Traversable) -> list[Traversable]:
    return sorted((p for p in folder.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)


@cache
def load_rule_sets() -> tuple[RuleSet, ...]:
    """All rule sets, sorted by effective_from (validated once, then cached)."""
    sets = sorted((RuleSet.model_validate(_read(p)) for p in _toml_files(_DATA)), key=lambda s: s.effective_from)
    starts = [s.effective_from for s in sets]
    if len(set(starts)) != len(starts):
        raise ValueError(f"two rule sets share an effective_from date: {starts}")
    policies = load_sampling_policies()
    for rule_set in sets:
        if rule_set.default_sampling_policy not in policies:
            raise ValueError(f"{rule_set.id}: unknown sampling policy {rule_set.default_sampling_policy!r}")
    return tuple(sets)


@cache
def load_sampling_policies() -> Mapping[str, SamplingPolicy]:
    """All sampling policies by id (read-only: the mapping is cached and shared)."""
    policies = (SamplingPolicy.model_validate(_read(p)) for p in _toml_files(_DATA / "sampling"))
    return MappingProxyType({policy.id: policy for policy in policies})


def rules_in_force(on: date) -> RuleSet:
    """The rule set with the latest effective_from on or before *on*."""
    sets = load_rule_sets()
    index = bisect.bisect_right([s.effective_from for s in sets], on) - 1
    if index < 0:
        first = sets[0]
        raise NoRuleSetInForce(
            f"no rule set is in force on {on.isoformat()}: the earliest, {first.id}, "
            f"takes effect on {first.effective_from.isoformat()}"
        )
    return sets[index]


def rules_for(day: date, province: str | None = None) -> RuleSet:
    """The set in force on ``day``; facts older than every set are judged by the earliest one.
    With ``province`` (two digits, ``province_of``): that province's own values applied."""
    try:
        rules = rules_in_force(day)
    except NoRuleSetInForce:
        rules = load_rule_sets()[0]
    return rules if province is None else _localised(rules.id, province)


@cache
def _localised(set_id: str, province: str) -> RuleSet:
    return next(s for s in load_rule_sets() if s.id == set_id).for_province(province)


def province_of(uscc: object) -> str | None:
    """The province of a USCC: the first two digits of its region code (characters 3-4); None for
    anything else (a natural person's penalty has no USCC: NULL, or NaN in a frame)."""
    if not isinstance(uscc, str) or len(uscc) < 4 or not uscc[2:4].isdigit():
        return None
    return uscc[2:4]


def sampling_policy(policy_id: str | None = None, on: date | None = None) -> SamplingPolicy:
    """A policy by id, or the default of the rule set in force on *on* (today if not given)."""
    policies = load_sampling_policies()
    wanted = policy_id or rules_in_force(on or date.today()).default_sampling_policy
    if wanted not in policies:
        raise LookupError(f"unknown sampling policy {wanted!r}; known: {', '.join(sorted(policies))}")
    return policies[wanted]

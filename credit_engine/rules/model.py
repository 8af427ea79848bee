"""Typed model of an effective-dated rule set and of a sampling policy.

The rules live in TOML files (``data/``); this model makes a malformed file fail at load time and
forces every numeric rule to carry its source and confidence tag (RULES.md: C read, P summary,
U unconfirmed — a U value must say it is a configurable assumption).
"""

from __future__ import annotations

from datetime import date
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")
Tag = Literal["C", "P", "U"]
Grade = Literal["A", "B", "C", "D"]
Condition = Literal[
    "serious_list_active",
    "abnormal_list_active",
    "enterprise_court_listed",
    "legal_rep_court_listed",
    "too_new",
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tagged(Frozen):
    """Confidence tag; an unconfirmed (U) value must be declared a configurable assumption."""

    tag: Tag
    note: str = ""

    @model_validator(mode="after")
    def _assumptions_are_declared(self) -> Tagged:
        if self.tag == "U" and "configurable" not in self.note.lower():
            raise ValueError("a value tagged U needs a note saying it is a configurable assumption")
        return self


class Sourced(Tagged):
    source: str = Field(min_length=1)


class Rule(Sourced, Generic[T]):
    """One rule value with its provenance."""

    value: T


class OptionalRule(Sourced, Generic[T]):
    """A rule whose value may be absent (TOML has no null): absent means "does not apply"."""

    value: T | None = None


# ------------------------------------------------------------------------------------ penalties


class TierRule(Frozen):
    publicity_months: Rule[int]
    #: absent: no early stop of publicity for this tier
    repair_after_months: OptionalRule[int]
    #: absent: key areas use repair_after_months
    key_area_repair_after_months: OptionalRule[int]


class Tiers(Frozen):
    minor: TierRule
    general: TierRule
    serious: TierRule


class PenaltyRules(Frozen):
    unpublished_categories: Rule[tuple[str, ...]]
    minor_categories: Rule[tuple[str, ...]]
    never_early_categories: Rule[tuple[str, ...]]
    serious_categories: Rule[tuple[str, ...]]
    small_fine_max_yuan: Rule[float]
    serious_fine_min_yuan: Rule[float]
    tiers: Tiers

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> PenaltyRules:
        if self.small_fine_max_yuan.value >= self.serious_fine_min_yuan.value:
            raise ValueError("small_fine_max_yuan must be below serious_fine_min_yuan")
        return self


class RepairRules(Frozen):
    decision_working_days: Rule[int]
    #: areas where key_area_repair_after_months applies
    key_areas: Rule[tuple[str, ...]]
    conditions: Rule[tuple[str, ...]]


# ----------------------------------------------------------------------------- lists and limits


class ObjectionRules(Frozen):
    mark_working_days: Rule[int]
    decide_working_days: Rule[int]
    max_total_working_days: Rule[int]
    alternative_decide_working_days: Rule[int]
    alternative_extension_working_days: Rule[int]


class AbnormalReason(Sourced):
    id: str
    text: str
    #: substrings that identify the reason in source files (wording varies: 未按照 / 未依照)
    match: tuple[str, ...]
    repair_grounds: str


class AbnormalListRules(Frozen):
    to_serious_after_years: Rule[int]
    warning_days_before: Rule[int]
    reasons: tuple[AbnormalReason, ...]


class SeriousListRules(Frozen):
    publicity_years: Rule[int]
    early_removal_after_years: Rule[int]


class BarredRole(Sourced):
    role: str


class LegalRepBar(Sourced):
    ground: str
    years: int


class CourtListRules(Frozen):
    listed_years: Rule[int]
    serious_extra_years: Rule[tuple[int, int]]
    deletion_working_days: Rule[int]
    minors_listed: Rule[bool]
    barred_roles: tuple[BarredRole, ...]
    legal_rep_bars: tuple[LegalRepBar, ...]


class WithdrawalRules(Frozen):
    revoked_decision_working_days: Rule[int]


class RetentionRules(Frozen):
    bad_info_max_years: Rule[int]
    query_log_years: Rule[int]
    free_reports_per_year: Rule[int]


# ---------------------------------------------------------------------------------- grading


class DirectJudgement(Tagged):
    """A condition that forces a class ("force") or sets a floor on it ("at_least")."""

    id: str
    condition: Condition
    effect: Literal["force", "at_least"]
    grade: Grade
    basis: str = Field(min_length=1)


class GradingRules(Frozen):
    too_new_months: Rule[int]
    #: in priority order: adverse listings come before the "too new" default
    direct_judgements: tuple[DirectJudgement, ...]


class RuleSet(Frozen):
    """A complete snapshot of the rules in force from ``effective_from``."""

    id: str
    effective_from: date
    title: str
    note: str
    default_sampling_policy: str
    key_areas: Rule[tuple[str, ...]]
    penalty: PenaltyRules
    repair: RepairRules
    objection: ObjectionRules
    abnormal_list: AbnormalListRules
    serious_list: SeriousListRules
    court_list: CourtListRules
    withdrawal: WithdrawalRules
    retention: RetentionRules
    grading: GradingRules


# --------------------------------------------------------------------------------- sampling


class SamplingClass(Frozen):
    ratio: Rule[tuple[float, float]]
    default_ratio: Rule[float]
    #: draws of one entity per 12 months; absent = "as needed"
    max_draws_per_12_months: OptionalRule[float]

    @model_validator(mode="after")
    def _ratios_consistent(self) -> SamplingClass:
        low, high = self.ratio.value
        if not 0 <= low <= self.default_ratio.value <= high <= 1:
            raise ValueError(f"need 0 <= min {low} <= default {self.default_ratio.value} <= max {high} <= 1")
        return self


class SamplingClasses(Frozen):
    A: SamplingClass
    B: SamplingClass
    C: SamplingClass
    D: SamplingClass


class SamplingPolicy(Frozen):
    """Class → share of the class drawn per plan and how often one entity may be drawn."""

    id: str
    title: str
    source: str
    tag: Tag
    classes: SamplingClasses
    key_area_full_coverage: Rule[bool]

    def for_class(self, grade: Grade) -> SamplingClass:
        return getattr(self.classes, grade)

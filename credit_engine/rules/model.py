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
    """How a penalty's tier is derived where the source states none, and how its periods count.

    The source's own tier or publicity end (公示截止期) always wins over these (RULES.md §3)."""

    #: "publication": periods run from the publication date (Order 45 Art.13); "decision": from the
    #: date of the decision document (NDRC Order 36)
    counting: Rule[Literal["publication", "decision"]]
    #: without a publication date in the source: publication assumed this many working days after the decision
    publication_lag_working_days: Rule[int]
    unpublished_categories: Rule[tuple[str, ...]]
    minor_categories: Rule[tuple[str, ...]]
    #: texts in the document number or content that mark a simple-procedure (简易程序) decision: minor
    simple_procedure_markers: Rule[tuple[str, ...]]
    general_categories: Rule[tuple[str, ...]]
    never_early_categories: Rule[tuple[str, ...]]
    serious_categories: Rule[tuple[str, ...]]
    #: serious by our assumption, beyond the summarised list
    assumed_serious_categories: Rule[tuple[str, ...]]
    #: restrictions whose longer period (处罚有效期) keeps the penalty published beyond its tier's end
    extending_categories: Rule[tuple[str, ...]]
    #: 较低数额罚款 for legal persons and other organisations
    small_fine_max_yuan: Rule[float]
    #: 较低数额罚款 for natural persons (and individual businesses)
    small_fine_max_yuan_natural: Rule[float]
    serious_fine_min_yuan: Rule[float]
    tiers: Tiers

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> PenaltyRules:
        for small in (self.small_fine_max_yuan, self.small_fine_max_yuan_natural):
            if small.value >= self.serious_fine_min_yuan.value:
                raise ValueError("the small-fine limits must be below serious_fine_min_yuan")
        return self


class RepairRules(Frozen):
    decision_working_days: Rule[int]
    #: an application is accepted or refused within these working days (absent: no separate step)
    acceptance_working_days: OptionalRule[int]
    #: a complex case may be extended once by these working days (absent: no extension)
    extension_working_days: OptionalRule[int]
    #: removal from the abnormal list is decided within these working days, not the penalty limit
    abnormal_decision_working_days: Rule[int]
    #: negative 双随机 / 抽查检查 results may be repaired, and stop with their related penalty
    inspection_results_repairable: Rule[bool]
    #: an inspection result is related to a penalty decided within these days after it (our assumption)
    related_inspection_days: Rule[int]
    #: an enterprise in bankruptcy reorganisation may apply with the court's ruling
    bankruptcy_reorganisation: Rule[bool]
    #: a repair obtained by a false commitment may be revoked by a regulator, restoring the record
    false_commitment_revocation: Rule[bool]
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
    #: absent: no early removal under this set
    early_removal_after_years: OptionalRule[int]


class BarredRole(Sourced):
    role: str


class CourtListRules(Frozen):
    listed_years: Rule[int]
    serious_extra_years: Rule[tuple[int, int]]
    deletion_working_days: Rule[int]
    minors_listed: Rule[bool]
    barred_roles: tuple[BarredRole, ...]
    #: the one listing ground that bars a person from a role (Company Law Art.178(5))
    barring_conduct: Rule[tuple[str, ...]]


BarId = Literal[
    "criminal_sentence",
    "criminal_probation",
    "bankruptcy_liquidation",
    "licence_revoked_or_closed",
    "court_large_debt",
    "registration_fraud",
    "serious_list_transfer",
]


class PersonBar(Sourced):
    """A bar on a person holding a role, with its own article and period (RULES.md §5)."""

    id: BarId
    #: role codes barred (法定代表人 legal_representative, 董事 director, 监事 supervisor, 高级管理人员 manager)
    roles: tuple[str, ...]
    #: years from ``counted_from``; absent: for as long as the cause lasts (the court listing)
    years: int | None = None
    counted_from: str
    #: True: the bar concerns other enterprises only, not the one that caused it
    other_enterprises_only: bool = False


class Citation(Sourced):
    """An article as numbered from ``since`` (statutes are renumbered by revisions)."""

    id: str
    since: date
    text: str


class ProvinceRules(Frozen):
    """Values a province sets for itself (RULES.md: U values configurable per province), by the
    province's two-digit code (the USCC's region code starts with it). Absent: the national default."""

    code: str = Field(pattern=r"^\d{2}$")
    name: str
    small_fine_max_yuan: OptionalRule[float]
    small_fine_max_yuan_natural: OptionalRule[float]
    objection_decide_working_days: OptionalRule[int]
    objection_max_total_working_days: OptionalRule[int]


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
    person_bars: tuple[PersonBar, ...]
    citations: tuple[Citation, ...]
    provinces: tuple[ProvinceRules, ...] = ()
    #: the province whose values were applied (``for_province``); None: national defaults
    province: str | None = None

    def bar(self, bar_id: str) -> PersonBar:
        return next(b for b in self.person_bars if b.id == bar_id)

    def cite(self, citation_id: str, on: date) -> str:
        """The article as numbered on ``on`` (the earliest numbering for older dates)."""
        known = sorted((c for c in self.citations if c.id == citation_id), key=lambda c: c.since)
        if not known:
            raise LookupError(f"{self.id}: no citation {citation_id!r}")
        return next((c for c in reversed(known) if c.since <= on), known[0]).text

    def for_province(self, code: str | None) -> RuleSet:
        """This set with a province's own values (by its two-digit code) applied over the defaults."""
        local = next((p for p in self.provinces if p.code == code), None)
        if local is None:
            return self
        penalty = {
            name: Rule[float](**getattr(local, name).model_dump())
            for name in ("small_fine_max_yuan", "small_fine_max_yuan_natural")
            if getattr(local, name).value is not None
        }
        objection = {
            field: Rule[int](**getattr(local, name).model_dump())
            for name, field in (
                ("objection_decide_working_days", "decide_working_days"),
                ("objection_max_total_working_days", "max_total_working_days"),
            )
            if getattr(local, name).value is not None
        }
        return self.model_copy(
            update={
                "province": code,
                "penalty": self.penalty.model_copy(update=penalty),
                "objection": self.objection.model_copy(update=objection),
            }
        )


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

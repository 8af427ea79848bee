"""Bodies of the repair and objection endpoints. The public ticket view has no contact, no
internal assessment and no grade: only what the applicant or objector needs to follow the case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from api.schemas import USCC_EXAMPLE, PublicBody
from credit_engine.workflows.objection import CORRECTABLE, GROUNDS, OUTCOMES
from credit_engine.workflows.repair import EVIDENCE_KINDS

EvidenceKind = Literal[EVIDENCE_KINDS]  # type: ignore[valid-type]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
CorrectionField = Literal[CORRECTABLE]  # type: ignore[valid-type]
Ground = Literal[tuple(GROUNDS)]  # type: ignore[valid-type]
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
REF = Field(
    min_length=1,
    max_length=200,
    description="the record's `ref`, as shown with each published record",
    examples=["3f2a9c0d1b7e4a65"],
)


class EvidenceIn(BaseModel):
    kind: EvidenceKind = Field(examples=["fine_paid"])
    description: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        examples=["罚款缴纳凭证，2026年6月1日"],
        description="what the item proves: not blank",
    )


class RepairIn(BaseModel):
    uscc: str = Field(min_length=15, max_length=24, examples=[USCC_EXAMPLE])
    ref: str = REF
    applicant: str = Field(min_length=1, max_length=200, description="the applicant entity's name")
    contact: str | None = Field(None, max_length=200, description="for the regulator only; never published")
    obligations_performed: bool = Field(description="conduct corrected and obligations (e.g. the fine) fully performed")
    commitment_signed: bool = Field(description="the signed public credit commitment (信用承诺书) is submitted")
    commitment_text: str = Field("", max_length=5000)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class ObjectionIn(BaseModel):
    uscc: str = Field(min_length=15, max_length=24, examples=[USCC_EXAMPLE])
    ref: str = REF
    ground: Ground = Field(  # type: ignore[valid-type]  # Literal built from GROUNDS at runtime
        description="; ".join(f"{k}: {v}" for k, v in GROUNDS.items()), examples=["error"]
    )
    statement: str = Field(min_length=1, max_length=5000, examples=["处罚金额与决定书不一致"])
    objector: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(None, max_length=200, description="for the regulator only; never published")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class Extension(BaseModel):
    working_days: int
    reason: str
    on: date


class TicketFields(BaseModel):
    """What anyone holding the ticket may read."""

    ticket: str
    kind: Literal["repair", "objection"]
    uscc: str
    fact_ref: str
    ground: str | None
    filed_on: date
    status: Literal["pending", "refused", "decided"]
    outcome: str | None
    reasons: list[str] = Field(
        description="why it was refused (in Chinese, naming the rule and its article), or the reasons of the decision"
    )
    reason_codes: list[str] = Field(
        default_factory=list,
        description="a refusal's reasons as machine-readable codes: "
        "minimum_period, not_repairable_early, not_published, court_record, not_adverse, "
        "obligations, evidence, commitment",
    )
    earliest_on: date | None = Field(description="a refused repair: the earliest date it could succeed")
    deadline: date | None = Field(description="decision due by this day (working days under the rules)")
    deadline_provisional: bool = Field(
        description="the holiday calendar does not cover the deadline's year yet: counted Monday to Friday"
    )
    extensions: list[Extension]
    decided_on: date | None


class TicketOut(PublicBody, TicketFields):
    """The public ticket view: regulators' decision and extension texts masked like every public text."""


class CaseOut(TicketFields):
    """The regulator's view: the whole file."""

    fact_key: str
    fact_version: int
    applicant: str
    contact: str | None
    request: dict[str, Any]
    rule_set_id: str
    assessment: dict[str, Any]
    limit_working_days: int | None
    decided_by: str | None
    decided_at: datetime | None
    decision: dict[str, Any] | None
    revision: int
    overdue: bool


class CasePage(BaseModel):
    total: int
    page: int
    size: int
    items: list[CaseOut]


class DecisionIn(BaseModel):
    outcome: Literal["approved", "rejected", "corrected", "removed", "upheld", "undetermined"] = Field(
        description="repair: approved or rejected; objection: " + ", ".join(OUTCOMES)
    )
    reasons: list[Reason] = Field(min_length=1, max_length=20, examples=[["罚款已缴纳，违法行为已整改"]])
    correction: dict[CorrectionField, str | float | None] | None = Field(
        None,
        description="with outcome 'corrected': new values of category, amount_yuan, event_date, end_date, "
        "document_no, authority",
    )

    @field_validator("correction")
    @classmethod
    def _bounded(cls, value: dict | None) -> dict | None:
        if value and any(isinstance(v, str) and len(v) > 2000 for v in value.values()):
            raise ValueError("a corrected value has at most 2000 characters")
        return value

    revision: int | None = Field(None, description="the revision you read: refused with 409 if the case changed since")


class DecisionOut(BaseModel):
    case: CaseOut
    fact_version: int | None = Field(description="the new version of the fact, when the decision changed it")
    grade: dict[str, Any] | None = Field(description="the entity's new class, when the decision re-graded it")


class ExtensionIn(BaseModel):
    working_days: int = Field(ge=1, le=20)
    reason: str = Field(min_length=1, max_length=2000)
    revision: int | None = None

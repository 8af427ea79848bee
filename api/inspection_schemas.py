"""Bodies of the inspection-system and 一公开 endpoints. The public ones have no field for a
class, a score, a π per class, an inspector or any personal data: what is not in the model
cannot leak (the blinded frame is where π is published, see ``credit_engine.sampling.blinding``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas import PublicBody
from credit_engine.sampling.plan import Plan, Scope
from credit_engine.sampling.results import InspectionResult

HEX64 = r"^[0-9a-f]{64}$"


class ClassTermsOut(BaseModel):
    grade: str
    default_ratio: float
    ratio_range: tuple[float, float]
    max_draws_per_12_months: float | None = Field(description="absent: as needed")
    min_interval_days: int | None = Field(description="days between two inspections of one entity (365 / frequency)")
    source: str


class PolicyOut(BaseModel):
    id: str
    title: str
    source: str
    rule_set_id: str = Field(description="the rule set in force on the date asked")
    key_areas: list[str] = Field(description="items of these areas get full coverage")
    key_area_full_coverage: bool
    classes: list[ClassTermsOut]
    ungraded_sampled_as: str


class PlanOut(BaseModel):
    id: int
    plan: Plan
    policy_id: str
    rule_set_id: str
    created_by: str
    created_at: datetime
    draws: list[int] = Field(description="draw ids, oldest first")


class ClassSummary(BaseModel):
    class_: str = Field(alias="class")
    in_scope: int
    ungraded: int
    capped: int = Field(description="left out by the class's frequency cap")
    eligible: int
    policy_ratio: float
    policy_range: tuple[float, float]
    min_interval_days: int | None
    pi: float = Field(description="π of an eligible entity of the class (mean)")
    within_range: bool = Field(
        True,
        description="π lies in the policy's range for the class; false when the "
        "plan's size scaled it outside (or a key area covers everyone)",
    )
    expected_draws: float


class WeightItem(BaseModel):
    uscc: str
    name: str | None
    region_code: str | None
    industry_code: str | None
    grade: str | None = Field(description="held on the plan's date; absent: ungraded")
    sampled_as: str
    last_inspected: date | None
    pi: float
    reason: str
    why: str


class WeightsPage(BaseModel):
    plan_id: int
    sample_size: int = Field(description="Σπ, exactly")
    scale: float | None = Field(description="the factor applied to the class ratios (absent: full coverage)")
    summary: list[ClassSummary]
    total: int
    page: int
    size: int
    items: list[WeightItem]
    note: str | None = Field(
        None, description="set once a draw of the plan was drawn: why the weights now differ from those the draw used"
    )


class CommitIn(BaseModel):
    commitment: str | None = Field(
        None,
        pattern=HEX64,
        description="SHA-256 of 'salt:seed' when the caller keeps the seed; absent: the service makes and keeps it",
    )


class RevealIn(BaseModel):
    seed: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    salt: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")


class DrawnEntity(BaseModel):
    draw_order: int
    uscc: str
    name: str | None
    pi: float
    opening: str
    nonce: str = Field(
        description="with opening and π, the entity's receipt: handed to it with the inspection "
        "notice, it checks its own seal in the public frame (it tells the entity its π)"
    )
    inspectors: list[str]


class DrawOut(BaseModel):
    id: int
    plan_id: int
    status: str = Field(examples=["committed", "drawn"])
    algorithm: str
    numpy_version: str
    frame_hash: str
    frame_size: int
    sample_size: int
    commitment: str
    seed_holder: str
    seed: str | None = Field(description="shown once drawn")
    salt: str | None
    summary: list[ClassSummary]
    committed_by: str
    committed_at: datetime
    drawn_by: str | None
    drawn_at: datetime | None
    sample: list[DrawnEntity]


class AuditFrameRow(BaseModel):
    uscc: str
    token: str
    opening: str
    nonce: str
    pi_units: int
    grade: str | None
    sampled_as: str
    reason: str


class VerificationOut(BaseModel):
    ok: bool
    commitment_matches: bool
    frame_hash_matches: bool
    sample_matches: bool
    problems: list[str]


class InspectorOut(BaseModel):
    code: str
    name: str
    department: str
    authority: str | None
    conflicts: list[str]
    active: bool


class ResultsIn(BaseModel):
    results: list[InspectionResult] = Field(min_length=1, max_length=10_000)


class ResultsOut(BaseModel):
    status: str = Field(description="ingested, or unchanged when the same rows were posted before")
    rows: int
    facts_new: int
    facts_versioned: int
    facts_unchanged: int
    quarantined: dict[str, int]


class PublicPlan(PublicBody):
    id: int
    title: str
    item: str
    key_area: str | None
    departments: list[str]
    scope: Scope
    as_of: date
    policy_id: str
    draws: list[int]


class PublicDrawn(PublicBody):
    draw_order: int
    uscc: str
    name: str | None
    opening: str | None = Field(
        description="SHA-256(opening ':' uscc)[:32] is the entity's token in the frame "
        "(absent for a draw of the withdrawn v1 design)"
    )
    results: list[str] = Field(description="inspection results published so far")


class PublicDraw(PublicBody):
    id: int
    plan: PublicPlan
    status: str
    algorithm: str
    numpy_version: str
    frame_hash: str = Field(
        description="SHA-256 of GET /v1/public/draws/{id}/frame (token, seal), published before the draw"
    )
    frame_size: int
    sample_size: int
    commitment: str = Field(description="SHA-256 of 'salt:seed', published before the draw")
    committed_at: datetime
    seed: str | None = Field(description="revealed after the draw")
    salt: str | None
    drawn_at: datetime | None
    sample: list[PublicDrawn]

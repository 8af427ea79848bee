"""Response bodies, documented in the OpenAPI with examples. Public bodies have no field for a
class, a score, a flag or an identity number: what is not in the model cannot leak; and each is
a ``PublicBody``, whose every string is masked on the way out (free text may name an ID)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from credit_engine.identifiers import mask_ids_everywhere
from credit_engine.records import FactView

USCC_EXAMPLE = "91230103MA1BXXXX0Y"


def json_body(body: BaseModel) -> Response:
    """A body serialised by pydantic in one pass. Returned as a model, FastAPI would validate it
    again against the route's ``response_model`` and encode it through dicts. The route keeps
    ``response_model`` for its OpenAPI schema."""
    return Response(body.model_dump_json(), media_type="application/json")


class PublicBody(BaseModel):
    """A body the anonymous public reads: every string in it, nested bodies, lists and dicts
    included, passes ``mask_ids_everywhere`` when it is serialised, whatever route returns it."""

    @model_serializer(mode="wrap")
    def _masked(self, handler: SerializerFunctionWrapHandler):  # no return annotation: keeps the OpenAPI schema
        return mask_ids_everywhere(handler(self))


class Reason(BaseModel):
    """A reason for a class: the score band, a direct judgement of the rule set, or a model indicator."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(examples=["model"])
    code: str = Field(examples=["penalties_24m"])
    effect: str | None = None
    basis: str | None = None
    contribution: float | None = None
    zh: str | None = None
    en: str | None = None

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: SerializerFunctionWrapHandler) -> dict:
        """A reason carries only the fields of its kind."""
        return {k: v for k, v in handler(self).items() if v is not None}


class GradeOut(BaseModel):
    grade: str = Field(description="A–D, internal: never public", examples=["C"])
    model_grade: str = Field(description="the class from the score, before direct judgements")
    score: float = Field(description="calibrated probability of a problem at the next inspection")
    as_of: date
    model_name: str
    model_version: str
    rule_set_id: str
    graded_at: datetime
    batch_id: str = Field(description="the grading run: a province batch, or the re-grade after a decision")
    judgements: list[Reason] = Field(description="score band and direct judgements, as stored with the grade")
    reasons: list[Reason] = Field(description="model reason codes (pred_contrib of the grade's model version)")


class PersonLink(BaseModel):
    pseudonym: str | None = Field(description="keyed pseudonym: the key for /v1/persons")
    name: str | None
    masked_id: str | None = Field(examples=["3423011964****3224"])
    role: str | None
    start: date | None
    end: date | None


class LinkFlagOut(BaseModel):
    built_for: date | None
    flag: str = Field(examples=["court_listed_legal_representative"])
    basis: str
    person_key: str | None
    facts: list[str]


def code_note_field() -> Any:
    """Set when the entity's own code fails the check digit: it is registered under it (RULES.md §6)."""
    return Field(
        None,
        description="set when the entity's own code fails the national check digit (a registered early pilot code)",
    )


class EntityOut(BaseModel):
    uscc: str = Field(examples=[USCC_EXAMPLE])
    code_note: str | None = code_note_field()
    as_of: date
    rule_set_id: str
    entity: dict[str, Any]
    grade: GradeOut | None
    facts: list[FactView] = Field(description="every fact version known on the date, with its publicity and basis")
    persons: list[PersonLink]
    flags: list[LinkFlagOut]


class GradeHistoryItem(BaseModel):
    as_of: date
    grade: str
    model_grade: str
    score: float
    model_version: str
    rule_set_id: str
    batch_id: str
    graded_at: datetime


class EntityListItem(BaseModel):
    uscc: str
    name: str | None
    region_code: str | None
    industry_code: str | None
    grade: str
    score: float
    as_of: date
    model_version: str


class EntityPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[EntityListItem]


class TransferOut(BaseModel):
    """An abnormal-list entry in its warning period ("warn") or past its years ("due")."""

    uscc: str
    name: str | None
    region_code: str | None
    listed_on: date
    reason: str = Field(examples=["annual_report"])
    warn_from: date
    due_on: date
    stage: Literal["warn", "due"]


class TransferPage(BaseModel):
    as_of: date
    rule_set_id: str
    total: int
    due: int
    page: int
    size: int
    items: list[TransferOut]


class PersonRole(BaseModel):
    uscc: str
    role: str | None
    start: date | None
    end: date | None


class PersonBar(BaseModel):
    ground: str
    until: date
    because_of: str | None = Field(None, description="the enterprise that caused the bar, if any")
    basis: str = Field("", description="the article and its period (RULES.md §5)")
    other_enterprises_only: bool = False


class PersonOut(BaseModel):
    pseudonym: str
    masked_id: str
    id_status: str
    name: str | None
    as_of: date
    roles: list[PersonRole]
    court_listings: list[str]
    legal_rep_bars: list[PersonBar]


class PublicRecord(PublicBody):
    ref: str = Field(description="names the record in a repair application or an objection")
    kind: str = Field(examples=["penalty"])
    event_date: date | None
    end_date: date | None
    category: str | None
    document_no: str | None
    authority: str | None
    amount_yuan: float | None
    publicity_end: date | None
    under_objection: bool = Field(description="异议处理中: an objection to the record is being reviewed")
    objection_recorded: bool = Field(description="an objection could not be determined: kept beside the record")
    person_name: str | None
    detail: dict[str, Any]
    corrected_on: date | None = Field(None, description="已更正: an objection corrected the record on this day")


class PublicEntity(PublicBody):
    uscc: str = Field(examples=[USCC_EXAMPLE])
    code_note: str | None = code_note_field()
    as_of: date
    entity: dict[str, Any] = Field(description="basic registration data")
    records: list[PublicRecord] = Field(description="only what a rule publishes (RULES.md §7)")


class PublicHit(PublicBody):
    uscc: str
    code_note: str | None = code_note_field()
    name: str | None
    reg_status: str | None
    address: str | None
    match: str = Field(description="code, prefix, contains or fuzzy", examples=["prefix"])


class PublicHitPage(PublicBody):
    total: int = Field(description="every match, not only this page's (at least this many when `more`)")
    more: bool = Field(description="counting stopped early: there are at least `total` matches")
    page: int
    size: int
    items: list[PublicHit]


class ModelVersionOut(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None = None
    metrics: dict[str, float]


class ModelReport(ModelVersionOut):
    params: dict[str, str]
    artifacts: list[str]
    gate: list[str] = Field(description="why the gate would refuse promotion now (empty: it passes)")


class PromoteIn(BaseModel):
    reason: str | None = Field(None, description="promote past a failed gate with this justification (audited)")


class PromoteOut(BaseModel):
    version: str
    previous: str | None
    forced: bool
    serving: str | None = Field(description="the version this service now grades with")


class Ready(BaseModel):
    database: bool
    schema_revision: str | None
    schema_head: str = Field(description="the revision this code needs (credit-engine init migrates to it)")
    champion: str | None
    champion_problem: str | None
    rule_sets: list[str]

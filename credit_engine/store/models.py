"""The relational model of the credit store.

Facts are bitemporal: ``event_date``/``end_date`` say when something happened in the world,
``recorded_at``/``superseded_at`` say when the store learned it and when a later version replaced
it. A correction never edits a fact in place; it closes the current version and adds the next,
so the store as it stood at any past instant can be rebuilt exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Names compare in code-point order on both stores (SQLite's BINARY is UTF-8 byte order), so a
# name prefix is a range of the name index whatever the database's locale (credit_engine.search).
NameText = Text().with_variant(Text(collation="C"), "postgresql")

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceFile(Base):
    """One immutable input file, archived under its content hash."""

    __tablename__ = "source_file"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(Text)
    archive_path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(16))
    file_format: Mapped[str | None] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # ingested | rejected
    error: Mapped[str | None] = mapped_column(Text)
    unknown_columns: Mapped[str | None] = mapped_column(Text)  # JSON list
    header_json: Mapped[str | None] = mapped_column(Text)  # JSON list: the keys of raw_json arrays
    rows_read: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_accepted: Mapped[int] = mapped_column(Integer, server_default="0")
    rows_quarantined: Mapped[int] = mapped_column(Integer, server_default="0")
    facts_new: Mapped[int] = mapped_column(Integer, server_default="0")
    facts_versioned: Mapped[int] = mapped_column(Integer, server_default="0")
    facts_unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    ingested_at: Mapped[datetime] = mapped_column(DateTime)


class Entity(Base):
    """A market entity keyed on its USCC; the current snapshot of its registration data."""

    __tablename__ = "entity"
    __table_args__ = (Index("ix_entity_name", "name", "uscc"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    code_status: Mapped[str] = mapped_column(String(24))  # identifiers.CodeKind
    entity_type: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str | None] = mapped_column(NameText)
    market_type: Mapped[str | None] = mapped_column(Text)
    legal_rep_name: Mapped[str | None] = mapped_column(Text)
    registered_capital_yuan: Mapped[float | None] = mapped_column(Float)
    established_on: Mapped[date | None] = mapped_column(Date)
    industry_code: Mapped[str | None] = mapped_column(String(8), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(Text)
    reg_status: Mapped[str | None] = mapped_column(String(8))
    approved_on: Mapped[date | None] = mapped_column(Date)
    business_scope: Mapped[str | None] = mapped_column(Text)
    registered: Mapped[bool] = mapped_column(server_default=false())  # seen in registration data
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class NameGram(Base):
    """The two-character pieces of entity names, for finding a name by a part or a typo
    (credit_engine.search); kept by the ingest with the names."""

    __tablename__ = "name_gram"
    __table_args__ = {"sqlite_with_rowid": False}

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)


class EntityAlias(Base):
    """Old identifiers (15-digit registration number, 9-digit organisation code) of an entity."""

    __tablename__ = "entity_alias"
    __table_args__ = (UniqueConstraint("alias_kind", "alias", "uscc"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alias_kind: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str] = mapped_column(String(18), index=True)
    uscc: Mapped[str] = mapped_column(ForeignKey("entity.uscc"))


class Person(Base):
    """A natural person, keyed by a keyed pseudonym; the raw identity number is never a key."""

    __tablename__ = "person"

    pseudonym: Mapped[str] = mapped_column(String(32), primary_key=True)
    masked_id: Mapped[str] = mapped_column(String(18))
    id_status: Mapped[str] = mapped_column(String(16))  # identifiers.IdKind
    name: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[date | None] = mapped_column(Date)
    male: Mapped[bool | None] = mapped_column()
    encrypted_id: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Fact(Base):
    """One version of a credit fact about an entity or a person (see module docstring)."""

    __tablename__ = "fact"
    __table_args__ = (
        UniqueConstraint("fact_key", "version"),
        Index("ix_fact_subject", "subject_uscc", "kind"),
        Index("ix_fact_person", "person_key"),
        # one current version per key; the ingest looks them up by key (unique: planned as an
        # index scan even before the table has statistics, during a long first ingest)
        Index(
            "ix_fact_current_key",
            "fact_key",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fact_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    subject_uscc: Mapped[str | None] = mapped_column(String(18))
    person_key: Mapped[str | None] = mapped_column(String(32))
    person_masked_id: Mapped[str | None] = mapped_column(String(18))
    person_name: Mapped[str | None] = mapped_column(Text)
    event_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    publicity_end: Mapped[date | None] = mapped_column(Date)
    published: Mapped[bool | None] = mapped_column()
    severity: Mapped[str | None] = mapped_column(String(8))
    amount_yuan: Mapped[float | None] = mapped_column(Float)
    document_no: Mapped[str | None] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | corrected | repaired | withdrawn | removed
    flags: Mapped[str | None] = mapped_column(Text)  # comma-separated review flags
    detail_json: Mapped[str | None] = mapped_column(Text)
    raw_json: Mapped[str | None] = mapped_column(Text)  # the source row's cells, in header_json order
    content_hash: Mapped[str] = mapped_column(String(16))
    rule_set_id: Mapped[str | None] = mapped_column(String(32))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_file.id"))
    source_row: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime)


class Quarantine(Base):
    """A source row that could not be used, kept with the precise reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_file_id: Mapped[int] = mapped_column(ForeignKey("source_file.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    raw_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: Set when a later requeue (after more registration data arrived) let the row land.
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    """Append-only: database triggers refuse UPDATE, DELETE and a conflicting INSERT; each row is
    hash-chained to the one before (``credit_engine.store.audit``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(Text, index=True)
    detail_json: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))  # the row before's row_hash (credit_engine.store.audit)
    row_hash: Mapped[str | None] = mapped_column(String(64))


class LinkFlag(Base):
    """A flag propagated along the enterprise–person graph as of a date (``credit-engine build``)."""

    __tablename__ = "link_flag"
    __table_args__ = (Index("ix_link_flag_as_of_uscc", "as_of", "uscc"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    as_of: Mapped[date] = mapped_column(Date)
    uscc: Mapped[str] = mapped_column(String(18))
    flag: Mapped[str] = mapped_column(String(48))
    basis: Mapped[str] = mapped_column(Text)
    person_key: Mapped[str | None] = mapped_column(String(32))
    facts_json: Mapped[str] = mapped_column(Text)  # the fact keys that cause it
    built_at: Mapped[datetime] = mapped_column(DateTime)


class Grade(Base):
    """One entity's class on an as-of date: append-only (triggers refuse UPDATE and DELETE).

    ``features_json`` is the exact vector the model saw, so reason codes can be computed on read
    with the exact model version, and a grade can always be explained as it was given."""

    __tablename__ = "grade"
    __table_args__ = (
        Index("ix_grade_uscc_as_of", "uscc", "as_of"),
        Index("ix_grade_as_of_grade", "as_of", "grade"),
        Index("ix_grade_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(32))
    uscc: Mapped[str] = mapped_column(String(18))
    as_of: Mapped[date] = mapped_column(Date)
    grade: Mapped[str] = mapped_column(String(1))
    model_grade: Mapped[str] = mapped_column(String(1))  # the class before direct judgements
    score: Mapped[float] = mapped_column(Float)  # calibrated probability of a problem: higher = riskier
    reasons_json: Mapped[str] = mapped_column(Text)
    features_json: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(16))
    rule_set_id: Mapped[str] = mapped_column(String(32))
    graded_at: Mapped[datetime] = mapped_column(DateTime)


class ApiKey(Base):
    """An API key of the service: only its SHA-256 is kept, never the key itself."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str | None] = mapped_column(Text)  # comma-separated region-code prefixes; NULL: all
    prefix: Mapped[str] = mapped_column(String(12))  # shown in listings to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class CreditCase(Base):
    """A credit repair application or an objection (``credit_engine.workflows``).

    ``status`` is refused (ineligible at filing), pending or decided; ``revision`` rises with every
    transition, and a transition only lands on the revision it read, so of two regulators deciding
    at once exactly one succeeds."""

    __tablename__ = "credit_case"
    __table_args__ = (
        Index("ix_credit_case_status_deadline", "status", "deadline"),
        Index("ix_credit_case_client_status", "client", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # repair | objection
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    fact_key: Mapped[str] = mapped_column(String(200), index=True)
    fact_version: Mapped[int] = mapped_column(Integer)  # the version the case was filed against
    ground: Mapped[str | None] = mapped_column(String(24))  # objection ground
    applicant: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)  # internal: never returned to the public
    request_json: Mapped[str] = mapped_column(Text)  # evidence, commitment, statement
    filed_on: Mapped[date] = mapped_column(Date)  # Beijing date: the rules in force on it apply
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    rule_set_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str | None] = mapped_column(String(16))
    assessment_json: Mapped[str] = mapped_column(Text)  # eligibility checks at filing
    earliest_on: Mapped[date | None] = mapped_column(Date)  # a refused repair: earliest date it could succeed
    limit_working_days: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    extensions_json: Mapped[str] = mapped_column(Text, server_default="[]")
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_json: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    client: Mapped[str | None] = mapped_column(Text)  # the address that filed it: open cases per client are limited


class Inspector(Base):
    """An inspector of the pool the 双随机 draws assign from (``credit_engine.sampling``)."""

    __tablename__ = "inspector"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)  # personal data: never public
    department: Mapped[str] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(Text)  # registration authority the inspector belongs to
    conflicts_json: Mapped[str] = mapped_column(Text, server_default="[]")  # USCCs of declared conflicts
    active: Mapped[bool] = mapped_column(server_default=true())
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class InspectionPlan(Base):
    """An inspection plan: item, departments, scope, size, grades date, policy (``sampling.plan``)."""

    __tablename__ = "inspection_plan"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(Text)
    key_area: Mapped[str | None] = mapped_column(String(32))
    as_of: Mapped[date] = mapped_column(Date)
    policy_id: Mapped[str] = mapped_column(String(64))
    rule_set_id: Mapped[str] = mapped_column(String(32))
    plan_json: Mapped[str] = mapped_column(Text)  # the plan as given, validated
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class InspectionDraw(Base):
    """One draw of a plan: committed (frame hash and seed commitment published), then drawn
    (seed revealed, sample stored). ``seed``/``salt`` of a service-held seed are secret until
    drawn; ``blinding_key`` never leaves the service (``sampling.blinding``)."""

    __tablename__ = "inspection_draw"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plan.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # committed | drawn
    algorithm: Mapped[str] = mapped_column(String(40))
    numpy_version: Mapped[str] = mapped_column(String(16))
    frame_hash: Mapped[str] = mapped_column(String(64))
    frame_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    commitment: Mapped[str] = mapped_column(String(64))
    seed_holder: Mapped[str] = mapped_column(String(8))  # service | client
    seed: Mapped[str | None] = mapped_column(Text)
    salt: Mapped[str | None] = mapped_column(String(64))
    blinding_key: Mapped[str] = mapped_column(String(64))
    summary_json: Mapped[str] = mapped_column(Text)  # per-class weights summary at commit
    committed_by: Mapped[str] = mapped_column(Text)
    committed_at: Mapped[datetime] = mapped_column(DateTime)
    drawn_by: Mapped[str | None] = mapped_column(Text)
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime)


class InspectionFrame(Base):
    """The frame a draw was committed on: every entity in scope with its class, π and reason."""

    __tablename__ = "inspection_frame"
    __table_args__ = (UniqueConstraint("draw_id", "uscc"), Index("ix_inspection_frame_draw_token", "draw_id", "token"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("inspection_draw.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    token: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str | None] = mapped_column(String(1))
    sampled_as: Mapped[str] = mapped_column(String(1))
    reason: Mapped[str] = mapped_column(String(16))
    pi_units: Mapped[int] = mapped_column(BigInteger)  # π in units of 10⁻⁹
    last_inspected: Mapped[date | None] = mapped_column(Date)


class InspectionSample(Base):
    """A drawn entity: its π (the training weight is 1/π), draw order, opening and inspectors."""

    __tablename__ = "inspection_sample"
    __table_args__ = (UniqueConstraint("draw_id", "uscc"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("inspection_draw.id"))
    draw_order: Mapped[int] = mapped_column(Integer)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    opening: Mapped[str] = mapped_column(String(32))
    pi_units: Mapped[int] = mapped_column(BigInteger)
    inspectors_json: Mapped[str] = mapped_column(Text)

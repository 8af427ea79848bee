"""Inspection systems (role ``inspection``): the sampling policy, plans and their weights,
draws committed then revealed, verification, the inspector pool, and results back as facts.

Weights and frames show classes, which are internal (RULES.md §1): every read of them is
audited like a regulator's read."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import Field

from api.deps import ConnDep, InspectionDep, ServiceDep, audit_read, client_address, write_transaction
from api.inspection_schemas import (
    ClassTermsOut,
    CommitIn,
    DrawOut,
    InspectorOut,
    PlanOut,
    PolicyOut,
    ResultsIn,
    ResultsOut,
    RevealIn,
    VerificationOut,
    WeightsPage,
)
from credit_engine.keys import Principal
from credit_engine.records import today_in_beijing
from credit_engine.sampling import ledger, results
from credit_engine.sampling.inspectors import NoEligibleInspector
from credit_engine.sampling.plan import Inspector, Line, Plan
from credit_engine.sampling.policy import UNGRADED_AS, resolve
from credit_engine.sampling.weights import REASONS, Weights

router = APIRouter(prefix="/v1/inspections", tags=["inspection systems"])
T = TypeVar("T")
PageNo = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
PlanId = Annotated[int, Path(ge=1, le=2**53, description="a plan's number")]
DrawId = Annotated[int, Path(ge=1, le=2**53, description="a draw's number")]


def _run(work: Callable[[], T]) -> T:
    """Domain errors as HTTP answers: unknown → 404, state or pool → 409, invalid → 422."""
    try:
        return work()
    except (NoEligibleInspector, ledger.DrawStateError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def _audit(conn: ConnDep, request: Request, principal: Principal, action: str, target: str, **detail: object) -> None:
    audit_read(
        request.app.state.service,
        conn,
        principal.actor,
        action,
        target,
        {"path": request.url.path, **detail},
        client_address(request),
    )


@router.get("/policy", response_model=PolicyOut, summary="A sampling policy: class ratios and frequencies")
def get_policy(
    principal: InspectionDep,
    policy_id: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    on: Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31), description="default today")] = None,
) -> PolicyOut:
    """The policy named, or the default of the rule set in force on ``on``, with the key areas."""
    terms = _run(lambda: resolve(policy_id, on or today_in_beijing()))
    return PolicyOut(
        id=terms.policy.id,
        title=terms.policy.title,
        source=terms.policy.source,
        rule_set_id=terms.rule_set.id,
        key_areas=list(terms.key_areas),
        key_area_full_coverage=terms.policy.key_area_full_coverage.value,
        classes=[
            ClassTermsOut(
                grade=g,
                default_ratio=c.ratio,
                ratio_range=c.ratio_range,
                max_draws_per_12_months=c.max_draws_per_12_months,
                min_interval_days=c.min_interval_days,
                source=c.source,
            )
            for g, c in terms.classes.items()
        ],
        ungraded_sampled_as=UNGRADED_AS,
    )


# ------------------------------------------------------------------------------------- inspectors


class InspectorIn(Inspector):
    """An inspector as the pool receives it: the authority is required, since recusal from one's
    own authority's entities depends on it."""

    authority: Line = Field(min_length=1, max_length=64, description="registration authority the inspector belongs to")


@router.put("/inspectors", summary="Add or replace inspectors of the pool (by code)")
def put_inspectors(
    pool: Annotated[list[InspectorIn], Body(max_length=10_000)],
    principal: InspectionDep,
    conn: ConnDep,
    request: Request,
) -> dict[str, int]:
    with write_transaction(conn):
        count = ledger.upsert_inspectors(conn, pool, principal.actor, client_address(request))
    return {"upserted": count}


@router.get("/inspectors", response_model=list[InspectorOut], summary="The inspector pool")
def get_inspectors(principal: InspectionDep, conn: ConnDep) -> list[dict]:
    pool = ledger.inspector_pool(conn)
    return [
        {
            **row,
            "authority": row["authority"] if isinstance(row["authority"], str) else None,
            "conflicts": sorted(row["conflicts"]),
            "active": bool(row["active"]),
        }
        for row in pool.to_dict("records")
    ]


# ------------------------------------------------------------------------------------------ plans


def _plan_out(conn: ConnDep, stored: ledger.StoredPlan) -> PlanOut:
    return PlanOut(
        id=stored.id,
        plan=stored.plan,
        policy_id=stored.policy_id,
        rule_set_id=stored.rule_set_id,
        created_by=stored.created_by,
        created_at=stored.created_at,
        draws=[d["id"] for d in ledger.list_draws(conn, stored.id)],
    )


@router.post("/plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED, summary="Create a plan")
def create_plan(plan: Plan, principal: InspectionDep, conn: ConnDep, request: Request) -> PlanOut:
    """The plan is checked against its policy (class ratios in range) and the rule set in force
    on its date (key area); 422 names the rule it breaks."""
    try:
        with write_transaction(conn):
            stored = ledger.save_plan(conn, plan, principal.actor, client_address(request))
    except (ValueError, LookupError) as exc:  # an unknown policy or a date before every rule set is invalid here
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return _plan_out(conn, stored)


@router.get("/plans", response_model=list[PlanOut], summary="Plans, newest first")
def list_plans(principal: InspectionDep, conn: ConnDep, page: PageNo = 1, size: PageSize = 50) -> list[PlanOut]:
    return [_plan_out(conn, p) for p in ledger.list_plans(conn, size, (page - 1) * size)]


@router.get("/plans/{plan_id}", response_model=PlanOut, summary="One plan with its draws")
def get_plan(plan_id: PlanId, principal: InspectionDep, conn: ConnDep) -> PlanOut:
    return _plan_out(conn, _run(lambda: ledger.get_plan(conn, plan_id)))


def _weights(conn: ConnDep, plan_id: int) -> tuple[Weights, pd.DataFrame]:
    stored = _run(lambda: ledger.get_plan(conn, plan_id))
    weights, people = _run(lambda: ledger.weights_of(conn, stored))
    frame = weights.frame.assign(
        name=people["name"], region_code=people["region_code"], industry_code=people["industry_code"]
    )
    return weights, frame.assign(why=frame["reason"].map(REASONS))


WEIGHT_COLUMNS = [
    "uscc",
    "name",
    "region_code",
    "industry_code",
    "grade",
    "sampled_as",
    "last_inspected",
    "pi",
    "reason",
    "why",
]


@router.get("/plans/{plan_id}/weights", response_model=WeightsPage, summary="Weights of a plan (paged)")
def get_weights(
    plan_id: PlanId,
    principal: InspectionDep,
    conn: ConnDep,
    request: Request,
    grade: Annotated[
        str | None, Query(pattern=r"^[ABCDabcd]$", description="only entities sampled as (any case)")
    ] = None,
    page: PageNo = 1,
    size: PageSize = 100,
) -> WeightsPage:
    """Each entity in scope: class held on the plan's date, π and why (policy row, frequency cap,
    full coverage), with the per-class summary; Σπ is the planned sample size exactly."""
    weights, frame = _weights(conn, plan_id)
    if grade:
        frame = frame[frame["sampled_as"] == grade.upper()]
    part = frame.iloc[(page - 1) * size : page * size][WEIGHT_COLUMNS]
    items = json.loads(part.to_json(orient="records", date_format="iso", force_ascii=False))
    _audit(conn, request, principal, "read_weights", f"plan:{plan_id}", page=page, returned=len(items))
    return WeightsPage(
        plan_id=plan_id,
        sample_size=weights.sample_size,
        scale=None if weights.scale != weights.scale else weights.scale,
        summary=weights.summary(),
        total=len(frame),
        page=page,
        size=size,
        items=items,
        note=_after_draws(conn, plan_id),
    )


def _after_draws(conn: ConnDep, plan_id: int) -> str | None:
    """Why a plan's weights read after one of its draws differ from those the draw used."""
    drawn = [d["id"] for d in ledger.list_draws(conn, plan_id) if d["status"] == "drawn"]
    if not drawn:
        return None
    return (
        f"weights as they stand now: the entities sampled by this plan's draws ({', '.join(map(str, drawn))}) "
        "count as inspected on the plan's date, so the frequency caps lower their π (or exclude them) and the "
        "other entities' π rise to keep Σπ; the π each entity was drawn with is in the draw's frame "
        "(GET /v1/inspections/draws/{id}/frame.csv)"
    )


def _csv_chunks(frame: pd.DataFrame, rows: int = 50_000) -> Iterator[bytes]:
    for start in range(0, max(len(frame), 1), rows):
        yield frame.iloc[start : start + rows].to_csv(index=False, header=start == 0, date_format="%Y-%m-%d").encode()


class _Sink(io.RawIOBase):
    """A write-only stream that hands out what was written (Parquet row group by row group)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # written bytes-like; len() needs more than Buffer
        self.parts.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _parquet_chunks(frame: pd.DataFrame, rows: int = 200_000) -> Iterator[bytes]:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = _Sink()
    with pq.ParquetWriter(sink, table.schema) as writer:
        for start in range(0, max(len(frame), 1), rows):
            writer.write_table(table.slice(start, rows))
            yield sink.take()
    yield sink.take()


def _download(frame: pd.DataFrame, name: str, kind: str) -> StreamingResponse:
    if kind == "csv":
        return StreamingResponse(
            _csv_chunks(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return StreamingResponse(
        _parquet_chunks(frame),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'},
    )


@router.get(
    "/plans/{plan_id}/weights.csv", summary="Weights of a plan as CSV (streamed)", response_class=StreamingResponse
)
def download_weights_csv(
    plan_id: PlanId, principal: InspectionDep, conn: ConnDep, request: Request
) -> StreamingResponse:
    _, frame = _weights(conn, plan_id)
    _audit(conn, request, principal, "export_weights", f"plan:{plan_id}", format="csv", rows=len(frame))
    return _download(frame[WEIGHT_COLUMNS], f"plan-{plan_id}-weights", "csv")


@router.get(
    "/plans/{plan_id}/weights.parquet",
    summary="Weights of a plan as Parquet (streamed)",
    response_class=StreamingResponse,
)
def download_weights_parquet(
    plan_id: PlanId, principal: InspectionDep, conn: ConnDep, request: Request
) -> StreamingResponse:
    _, frame = _weights(conn, plan_id)
    _audit(conn, request, principal, "export_weights", f"plan:{plan_id}", format="parquet", rows=len(frame))
    return _download(frame[WEIGHT_COLUMNS], f"plan-{plan_id}-weights", "parquet")


# ------------------------------------------------------------------------------------------ draws


def _draw_out(conn: ConnDep, row: dict) -> DrawOut:
    drawn = row["status"] == "drawn"
    sample = ledger.sample_of(conn, row["id"]) if drawn else pd.DataFrame()
    return DrawOut(
        **{
            k: row[k]
            for k in (
                "id",
                "plan_id",
                "status",
                "algorithm",
                "numpy_version",
                "frame_hash",
                "frame_size",
                "sample_size",
                "commitment",
                "seed_holder",
                "committed_by",
                "committed_at",
                "drawn_by",
                "drawn_at",
            )
        },
        seed=row["seed"] if drawn else None,
        salt=row["salt"] if drawn else None,
        summary=json.loads(row["summary_json"]),
        sample=sample[["draw_order", "uscc", "name", "pi", "opening", "nonce", "inspectors"]].to_dict("records")
        if drawn
        else [],
    )


@router.post(
    "/plans/{plan_id}/draws",
    response_model=DrawOut,
    status_code=status.HTTP_201_CREATED,
    summary="Commit a draw: freeze the frame, publish its hash and the seed commitment",
)
def commit_draw(
    plan_id: PlanId, principal: InspectionDep, conn: ConnDep, request: Request, body: CommitIn | None = None
) -> DrawOut:
    """Nothing is drawn yet: the frame hash and the commitment are published first (一公开),
    the seed is revealed afterwards (``/draws/{id}/reveal``). No body at all is an empty one."""
    commitment = body.commitment if body else None
    with write_transaction(conn):
        row = _run(lambda: ledger.commit(conn, plan_id, principal.actor, client_address(request), commitment))
    return _draw_out(conn, row)


@router.get("/draws/{draw_id}", response_model=DrawOut, summary="A draw with its sample and inspectors")
def get_draw(draw_id: DrawId, principal: InspectionDep, conn: ConnDep, request: Request) -> DrawOut:
    """The sample carries π of each drawn entity, which tells its class: the read is audited."""
    shown = _draw_out(conn, _run(lambda: ledger.get_draw(conn, draw_id)))
    _audit(conn, request, principal, "read_draw", f"draw:{draw_id}", sample=len(shown.sample or []))
    return shown


@router.get(
    "/draws/{draw_id}/frame.csv",
    summary="The frame of a draw with classes (internal, streamed)",
    response_class=StreamingResponse,
)
def download_frame(draw_id: DrawId, principal: InspectionDep, conn: ConnDep, request: Request) -> StreamingResponse:
    _run(lambda: ledger.get_draw(conn, draw_id))
    frame = ledger.stored_frame(conn, draw_id).assign(pi=lambda f: f["pi_units"] / 1e9)
    _audit(conn, request, principal, "export_frame", f"draw:{draw_id}", rows=len(frame))
    return _download(
        frame[["token", "uscc", "name", "grade", "sampled_as", "reason", "pi_units", "pi", "last_inspected"]],
        f"draw-{draw_id}-frame",
        "csv",
    )


@router.post("/draws/{draw_id}/reveal", response_model=DrawOut, summary="Reveal the seed and draw")
def reveal_draw(
    draw_id: DrawId, principal: InspectionDep, conn: ConnDep, request: Request, body: RevealIn | None = None
) -> DrawOut:
    """A caller-held commitment needs seed and salt that open it; a service-held one takes none.
    The sample and its inspectors are stored with each entity's π. No body at all is an empty one."""
    body = body or RevealIn()
    with write_transaction(conn):
        row = _run(lambda: ledger.reveal(conn, draw_id, principal.actor, client_address(request), body.seed, body.salt))
    return _draw_out(conn, row)


@router.post("/draws/{draw_id}/verify", response_model=VerificationOut, summary="Re-run a drawn draw")
def verify_draw(
    draw_id: DrawId, principal: InspectionDep, conn: ConnDep, body: RevealIn | None = None
) -> VerificationOut:
    """From the published frame, commitment and sample; a ``seed`` or ``salt`` given replaces
    the revealed one (a changed seed must fail). No body at all is an empty one."""
    body = body or RevealIn()
    result = _run(lambda: ledger.verify_stored(conn, draw_id, body.seed, body.salt))
    return VerificationOut(
        ok=result.ok,
        commitment_matches=result.commitment_matches,
        frame_hash_matches=result.frame_hash_matches,
        sample_matches=result.sample_matches,
        problems=list(result.problems),
    )


# ---------------------------------------------------------------------------------------- results


@router.post("/results", response_model=ResultsOut, summary="Inspection results back, as facts")
def post_results(body: ResultsIn, principal: InspectionDep, conn: ConnDep, service: ServiceDep) -> ResultsOut:
    """Each row becomes an inspection fact through the ingest (idempotent, versioned); a row of
    a draw carries the draw's inclusion probability, the training weight's 1/π. Any invalid row
    refuses the post with 422 naming the row and field."""
    checked, problems = results.check(conn, body.results, today_in_beijing())
    if problems:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "results", p.row, p.field], "msg": p.message, "type": "value_error"} for p in problems],
        )
    conn.close()  # the ingest takes its own connection: hold one at a time
    report = results.record(service.engine, service.settings, body.results, checked, principal.actor)
    if report.status not in ("ingested", "unchanged"):
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"the results were not recorded: {report.error}")
    return ResultsOut(
        status=report.status,
        rows=len(checked),
        facts_new=report.facts_new,
        facts_versioned=report.facts_versioned,
        facts_unchanged=report.facts_unchanged,
        quarantined=dict(report.quarantined),
    )

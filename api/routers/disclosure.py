"""一公开: plans, draws and results of 双随机 inspections, for anyone, rate-limited.

A draw is published in two steps: on commit the frame hash and the seed commitment, on reveal
the seed, the salt and the sample with each entity's opening. The published frame is blinded and
sealed (``credit_engine.sampling.blinding``): (token, seal) lines that commit every π before the
draw and show none, so no class can be read from it, a drawn entity's neither. Anyone checks that
the seed opens the commitment and that each drawn entity was in the committed frame; the full
re-run with π is the auditor's (``/v1/audit``). No body here has a field for a class, a score,
an inspector or any personal data."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, bindparam, text

from api.deps import ConnDep, PublicDep
from api.inspection_schemas import PublicDraw, PublicPlan
from api.templating import templates
from credit_engine.sampling import draw, ledger

router = APIRouter(prefix="/v1/public", tags=["public"])
pages = APIRouter(include_in_schema=False)
DrawId = Annotated[int, Path(ge=1, le=2**53, description="a draw's number")]


def public_plan(conn: Connection, stored: ledger.StoredPlan) -> PublicPlan:
    p = stored.plan
    return PublicPlan(id=stored.id, title=p.title, item=p.item, key_area=p.key_area, departments=list(p.departments),
                      scope=p.scope, as_of=p.as_of, policy_id=stored.policy_id,
                      draws=[d["id"] for d in ledger.list_draws(conn, stored.id)])


def _results(conn: Connection, draw_id: int, usccs: list[str]) -> dict[str, list[str]]:
    """Published results of the draw's inspections (their task number is the draw's by default)."""
    if not usccs:
        return {}
    rows = conn.execute(text(
        "SELECT subject_uscc, detail_json FROM fact WHERE kind = 'inspection' AND superseded_at IS NULL "
        "AND published AND document_no = :task AND subject_uscc IN :u ORDER BY event_date, id"
    ).bindparams(bindparam("u", expanding=True)), {"task": f"draw-{draw_id}", "u": usccs}).all()
    out: dict[str, list[str]] = {}
    for uscc, detail in rows:
        out.setdefault(uscc, []).append(json.loads(detail or "{}").get("result") or "")
    return out


def public_draw(conn: Connection, draw_id: int) -> PublicDraw:
    try:
        row = ledger.get_draw(conn, draw_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    drawn = row["status"] == "drawn"
    sealed = row["algorithm"] != draw.ALGORITHM_V1  # a v1 opening finds the entity's π in its frame
    sample = ledger.sample_of(conn, draw_id).to_dict("records") if drawn else []
    found = _results(conn, draw_id, [s["uscc"] for s in sample])
    return PublicDraw(
        id=row["id"], plan=public_plan(conn, ledger.get_plan(conn, row["plan_id"])), status=row["status"],
        algorithm=row["algorithm"], numpy_version=row["numpy_version"], frame_hash=row["frame_hash"],
        frame_size=row["frame_size"], sample_size=row["sample_size"], commitment=row["commitment"],
        committed_at=row["committed_at"], seed=row["seed"] if drawn else None, salt=row["salt"] if drawn else None,
        drawn_at=row["drawn_at"],
        sample=[{"draw_order": s["draw_order"], "uscc": s["uscc"], "name": s["name"],
                 "opening": s["opening"] if sealed else None,
                 "results": found.get(s["uscc"], [])} for s in sample])


@router.get("/plans", response_model=list[PublicPlan], summary="Published inspection plans (抽查计划)")
def get_public_plans(conn: ConnDep, client: PublicDep, page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                     size: Annotated[int, Query(ge=1, le=200)] = 50) -> list[PublicPlan]:
    """Plans with at least one committed draw, newest first."""
    return [public_plan(conn, p) for p in ledger.list_plans(conn, size, (page - 1) * size, published_only=True)]


@router.get("/draws/{draw_id}", response_model=PublicDraw, summary="A published draw (抽查结果公示)")
def get_public_draw(draw_id: DrawId, conn: ConnDep, client: PublicDep) -> PublicDraw:
    """Frame hash and commitment from the commit on; seed, salt, sample and results once drawn.
    To verify: check SHA-256('salt:seed') = commitment and SHA-256(frame) = frame_hash, and that
    each drawn entity's token SHA-256('opening:uscc')[:32] is a line of the frame. Which π each
    was drawn with is sealed: the auditor re-runs the draw in full."""
    return public_draw(conn, draw_id)


@router.get("/draws/{draw_id}/frame", summary="The sealed frame of a draw (token, seal), as hashed",
            response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def get_public_frame(draw_id: DrawId, conn: ConnDep, client: PublicDep) -> Response:
    """One line ``TOKEN,SEAL`` per entity in scope, sorted by token: exactly the bytes of the
    published frame hash. A draw of the withdrawn v1 design published π here: 404."""
    try:
        row = ledger.get_draw(conn, draw_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if row["algorithm"] == draw.ALGORITHM_V1:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the frame of draw {draw_id} (v1) is no longer published: "
                                                       "it showed π, hence classes")
    return Response(ledger.frame_bytes(conn, draw_id), media_type="text/plain; charset=us-ascii",
                    headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}-frame.txt"'})


@pages.get("/inspections", response_class=HTMLResponse)
def inspections_page(request: Request, conn: ConnDep, client: PublicDep,
                     draw: Annotated[int | None, Query(ge=1, le=2**53)] = None) -> HTMLResponse:
    """The 双随机抽查 publication: plans with their draws; one draw in full when asked."""
    plans = [public_plan(conn, p) for p in ledger.list_plans(conn, 50, published_only=True)]
    shown, code = None, 200
    if draw is not None:
        try:
            shown = public_draw(conn, draw)
        except HTTPException as exc:
            code = exc.status_code
    return templates.TemplateResponse(request, "plans.html", {"plans": plans, "draw": shown,
                                                              "missing": draw if code != 200 else None}, status_code=code)

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
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, bindparam, text

from api.deps import ConnDep, PublicDep
from api.inspection_schemas import PublicDraw, PublicPlan
from api.templating import templates
from credit_engine.identifiers import mask_ids_in_text
from credit_engine.records import BEIJING
from credit_engine.sampling import draw, ledger

router = APIRouter(prefix="/v1/public", tags=["public"])
pages = APIRouter(include_in_schema=False)
DrawId = Annotated[int, Path(ge=1, le=2**53, description="a draw's number")]


def public_plan(conn: Connection, stored: ledger.StoredPlan) -> PublicPlan:
    p = stored.plan
    return PublicPlan(
        id=stored.id,
        title=p.title,
        item=p.item,
        key_area=p.key_area,
        departments=list(p.departments),
        scope=p.scope,
        as_of=p.as_of,
        policy_id=stored.policy_id,
        draws=[d["id"] for d in ledger.list_draws(conn, stored.id)],
    )


def _results(conn: Connection, draw_id: int, usccs: list[str]) -> dict[str, list[str]]:
    """Published results of the draw's inspections (their task number is the draw's by default)."""
    if not usccs:
        return {}
    rows = conn.execute(
        text(
            "SELECT subject_uscc, detail_json FROM fact WHERE kind = 'inspection' AND superseded_at IS NULL "
            "AND published AND document_no = :task AND subject_uscc IN :u ORDER BY event_date, id"
        ).bindparams(bindparam("u", expanding=True)),
        {"task": f"draw-{draw_id}", "u": usccs},
    ).all()
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
        id=row["id"],
        plan=public_plan(conn, ledger.get_plan(conn, row["plan_id"])),
        status=row["status"],
        algorithm=row["algorithm"],
        numpy_version=row["numpy_version"],
        frame_hash=row["frame_hash"],
        frame_size=row["frame_size"],
        sample_size=row["sample_size"],
        commitment=row["commitment"],
        committed_at=row["committed_at"],
        seed=row["seed"] if drawn else None,
        salt=row["salt"] if drawn else None,
        drawn_at=row["drawn_at"],
        sample=[
            {
                "draw_order": s["draw_order"],
                "uscc": s["uscc"],
                "name": s["name"],
                "opening": s["opening"] if sealed else None,
                "results": found.get(s["uscc"], []),
            }
            for s in sample
        ],
    )


@router.get("/plans", response_model=list[PublicPlan], summary="Published inspection plans (抽查计划)")
def get_public_plans(
    conn: ConnDep,
    client: PublicDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PublicPlan]:
    """Plans with at least one committed draw, newest first."""
    return [public_plan(conn, p) for p in ledger.list_plans(conn, size, (page - 1) * size, published_only=True)]


@router.get("/draws/{draw_id}", response_model=PublicDraw, summary="A published draw (抽查结果公示)")
def get_public_draw(draw_id: DrawId, conn: ConnDep, client: PublicDep) -> PublicDraw:
    """Frame hash and commitment from the commit on; seed, salt, sample and results once drawn.
    To verify: check SHA-256('salt:seed') = commitment and SHA-256(frame) = frame_hash, and that
    each drawn entity's token SHA-256('opening:uscc')[:32] is a line of the frame. Which π each
    was drawn with is sealed: the auditor re-runs the draw in full."""
    return public_draw(conn, draw_id)


@router.get(
    "/draws/{draw_id}/frame",
    summary="The sealed frame of a draw (token, seal), as hashed",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def get_public_frame(draw_id: DrawId, conn: ConnDep, client: PublicDep) -> Response:
    """One line ``TOKEN,SEAL`` per entity in scope, sorted by token: exactly the bytes of the
    published frame hash. A draw of the withdrawn v1 design published π here: 404."""
    try:
        row = ledger.get_draw(conn, draw_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if row["algorithm"] == draw.ALGORITHM_V1:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the frame of draw {draw_id} (v1) is no longer published: it showed π, hence classes",
        )
    return Response(
        ledger.frame_bytes(conn, draw_id),
        media_type="text/plain; charset=us-ascii",
        headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}-frame.txt"'},
    )


def beijing(moment: datetime | str | None) -> str | None:
    """A recorded instant (naive UTC; SQLite's raw rows give it as text) as a person in the
    province reads it."""
    if not moment:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return f"{moment + BEIJING:%Y-%m-%d %H:%M}（北京时间）"


def _plan_view(conn: Connection, plan: PublicPlan) -> dict:
    draws = [
        {
            "id": d["id"],
            "committed": beijing(d["committed_at"]),
            "drawn": beijing(d["drawn_at"]),
            "sample_size": d["sample_size"],
            "frame_size": d["frame_size"],
        }
        for d in ledger.list_draws(conn, plan.id)
    ]
    return {"plan": plan, "draws": [d for d in draws if d["committed"]]}


@pages.get("/inspections", response_class=HTMLResponse)
def inspections_page(
    request: Request, conn: ConnDep, client: PublicDep, draw: Annotated[int | None, Query(ge=1, le=2**53)] = None
) -> HTMLResponse:
    """The 双随机抽查 publication: what a plan and a draw are, plans with their dated draws, and
    one draw in full when asked, with how to check it."""
    plans = [_plan_view(conn, public_plan(conn, p)) for p in ledger.list_plans(conn, 50, published_only=True)]
    shown, code = None, 200
    if draw is not None:
        try:
            shown = public_draw(conn, draw)
        except HTTPException as exc:
            code = exc.status_code
    return templates.TemplateResponse(
        request,
        "plans.html",
        {
            "plans": plans,
            "draw": shown,
            "committed": beijing(shown.committed_at) if shown else None,
            "drawn": beijing(shown.drawn_at) if shown else None,
            "missing": draw if code != 200 else None,
        },
        status_code=code,
    )


def check_sheet(shown: PublicDraw) -> str:
    """The draw's published values with a how-to, as a text file anyone can open and follow."""
    lines = [
        f"双随机抽查 抽取批次 {shown.id} 核验材料",
        f"抽查计划：{shown.plan.title}",
        f"抽查事项：{shown.plan.item}",
        f"公布名录与承诺：{beijing(shown.committed_at)}",
        f"抽取：{beijing(shown.drawn_at) or '尚未抽取'}",
        "",
        f"名录哈希（SHA-256）：{shown.frame_hash}",
        f"名录数量：{shown.frame_size}",
        f"种子承诺（SHA-256）：{shown.commitment}",
        f"随机种子：{shown.seed or '抽取后公布'}",
        f"盐值：{shown.salt or '抽取后公布'}",
        f"抽取程序：{shown.algorithm}",
        "",
        "核验方法：",
        f"1. 下载名录文件 draw-{shown.id}-frame.txt，计算其 SHA-256 值，应与上面的名录哈希相同。",
        "   Linux/macOS：sha256sum 文件名；Windows：certutil -hashfile 文件名 SHA256",
        "2. 把“盐值:随机种子”（中间是英文冒号，不含引号和空格）计算 SHA-256，应与种子承诺相同。",
        "   Linux/macOS：printf '%s' '盐值:随机种子' | sha256sum",
        "3. 对每个抽查对象，把“开启值:统一社会信用代码”计算 SHA-256，取前32位，应能在名录文件中找到。",
        "4. 各对象的入选概率不公开（它会透露内部的信用风险分类）：按概率重新抽取的完整核验由审计人员进行，",
        "   每个被抽中的对象也可以向监管部门核对自己的那一行。",
        "",
        "抽查对象（序号、统一社会信用代码、名称、开启值）：",
    ]
    lines += [f"{s.draw_order}\t{s.uscc}\t{s.name or ''}\t{s.opening}" for s in shown.sample] or ["（抽取后公布）"]
    return mask_ids_in_text("\r\n".join(lines) + "\r\n")  # a name may hold an identity number


@pages.get("/inspections/{draw_id}/check.txt")
def check_download(draw_id: DrawId, conn: ConnDep, client: PublicDep) -> Response:
    """The check sheet of a draw (UTF-8 with a byte-order mark: Windows' Notepad opens it right)."""
    body = "\ufeff" + check_sheet(public_draw(conn, draw_id))
    return Response(
        body.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="draw-{draw_id}-check.txt"'},
    )

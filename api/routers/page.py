"""The public query page: server-rendered HTML over the same functions as the public API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import ConnDep, PublicDep, UsccPath
from api.routers.public import find, public_entity

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

REGISTRATION = (("market_type", "市场主体类型"), ("legal_rep_name", "法定代表人"), ("established_on", "成立日期"),
                ("reg_status", "登记状态"), ("authority", "登记机关"), ("address", "住所"),
                ("industry_code", "行业代码"), ("business_scope", "经营范围"))
KINDS = (("penalty", "行政处罚信息"), ("abnormal", "经营异常名录"), ("serious", "严重违法失信名单"),
         ("court", "失信被执行人信息"), ("license", "行政许可信息"), ("inspection", "抽查检查结果"),
         ("role", "主要人员"))
DETAIL_LABELS = {
    "party_name": "当事人", "violation_type": "违法行为类型", "facts_text": "违法事实", "basis": "处罚依据",
    "content": "内容", "document_name": "文件名称", "certificate": "许可证书", "licence_no": "许可编号",
    "valid_from": "有效期自", "name": "名称", "reason": "列入原因", "listed_by": "作出决定机关",
    "removal_reason": "移出原因", "removed_by": "移出决定机关", "court": "执行法院", "basis_doc": "执行依据文号",
    "published_on": "发布日期", "conduct": "失信行为情形", "performance": "履行情况", "inspection_type": "检查类型",
    "result": "检查结果",
}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, conn: ConnDep, client: PublicDep,
          q: Annotated[str | None, Query(max_length=60)] = None) -> HTMLResponse:
    hits, error, code = None, None, 200
    if q and q.strip():
        try:
            hits = find(conn, q, 20)
        except HTTPException as exc:
            error, code = exc.detail, exc.status_code
    return templates.TemplateResponse(request, "index.html", {"q": q, "hits": hits, "error": error},
                                      status_code=code)


@router.get("/entity/{uscc}", response_class=HTMLResponse)
def entity(request: Request, uscc: UsccPath, conn: ConnDep, client: PublicDep) -> HTMLResponse:
    try:
        shown = public_entity(conn, uscc)
    except HTTPException as exc:
        return templates.TemplateResponse(request, "index.html", {"q": uscc, "hits": None, "error": exc.detail},
                                          status_code=exc.status_code)
    return templates.TemplateResponse(request, "entity.html", {
        "entity": shown, "registration": REGISTRATION, "kinds": KINDS, "detail_labels": DETAIL_LABELS})


@router.get("/objection", response_class=HTMLResponse)
def objection(request: Request, client: PublicDep,
              uscc: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9A-Za-z]*$")] = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "objection.html", {"uscc": uscc})

"""The public query page: server-rendered HTML over the same functions as the public API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from api.case_schemas import EvidenceIn, ObjectionIn
from api.deps import ConnDep, PublicDep, UsccPath
from api.routers.cases import file_objection
from api.routers.public import find, public_entity
from api.templating import templates
from credit_engine.workflows import CaseNotFound, get_case

router = APIRouter(include_in_schema=False)

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

#: The stored category codes of some kinds, as the page shows them (the JSON API keeps the codes).
CATEGORY_LABELS = {
    "abnormal": {"annual_report": "未按照规定期限公示年度报告", "info_not_published": "未在责令的期限内公示有关企业信息",
                 "false_info": "公示企业信息隐瞒真实情况、弄虚作假", "unreachable": "通过登记的住所或者经营场所无法联系"},
    "serious": {"abnormal_three_years": "被列入经营异常名录届满3年仍未履行相关义务",
                "life_and_health": "危害人民群众生命健康安全的严重违法行为", "fair_competition": "破坏公平竞争秩序的严重违法行为",
                "intellectual_property": "侵犯知识产权的严重违法行为", "refuses_decision": "拒不履行法定义务",
                "false_registration": "提交虚假材料、采取其他欺诈手段隐瞒重要事实取得市场主体登记",
                "other": "其他严重违法失信行为"},
    "inspection": {"ok": "未发现问题", "problem": "发现问题", "not_applicable": "未发现开展本次抽查涉及的经营活动"},
    "role": {"legal_representative": "法定代表人", "director": "董事", "supervisor": "监事", "manager": "经理",
             "cfo": "财务负责人", "shareholder": "股东", "controller": "实际控制人"},
}

GROUND_LABELS = {"error": "信息有误", "past_period": "超过公示期限仍在公示", "no_grounds": "无依据列入",
                 "duplicate": "重复公示", "inconsistent": "与决定机关的决定不一致"}


class ObjectionForm(BaseModel):
    """The page's form fields; validated again as an ``ObjectionIn``."""

    uscc: str = ""
    ref: str = ""
    ground: str = ""
    statement: str = ""
    objector: str = ""
    contact: str = ""
    evidence: str = ""


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
        "entity": shown, "registration": REGISTRATION, "kinds": KINDS, "detail_labels": DETAIL_LABELS,
        "category_labels": CATEGORY_LABELS})


def _record(conn: ConnDep, uscc: str | None, ref: str | None) -> tuple[dict | None, dict | None]:
    """The entity's public view and the published record named by ``ref`` (None when not found)."""
    if not uscc:
        return None, None
    try:
        shown = public_entity(conn, uscc)
    except HTTPException:
        return None, None
    return shown, next((r for r in shown["records"] if r["ref"] == ref), None)


@router.get("/objection", response_class=HTMLResponse)
def objection_form(request: Request, conn: ConnDep, client: PublicDep,
                   uscc: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9A-Za-z]*$")] = None,
                   ref: Annotated[str | None, Query(max_length=32, pattern=r"^[0-9a-f]*$")] = None) -> HTMLResponse:
    shown, record = _record(conn, uscc, ref)
    return templates.TemplateResponse(request, "objection.html", {
        "uscc": uscc, "entity": shown, "record": record, "grounds": GROUND_LABELS, "form": {}, "error": None})


@router.post("/objection", response_class=HTMLResponse)
def objection_submit(request: Request, conn: ConnDep, client: PublicDep,
                     form: Annotated[ObjectionForm, Form()]) -> HTMLResponse:
    """The form posts here (no script needed); the answer is the ticket page, or the form again
    with the precise reason it was refused."""
    try:  # the evidence too: a description beyond its limit is the form's error, not the server's
        evidence = [EvidenceIn(kind="document", description=form.evidence)] if form.evidence.strip() else []
        body = ObjectionIn(uscc=form.uscc, ref=form.ref, ground=form.ground, statement=form.statement,
                           objector=form.objector, contact=form.contact or None, evidence=evidence)
        ticket = file_objection(body, conn, client, request.app.state.service)
    except (HTTPException, ValidationError) as exc:
        shown, record = _record(conn, form.uscc, form.ref)
        error = exc.detail if isinstance(exc, HTTPException) else "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return templates.TemplateResponse(request, "objection.html", {
            "uscc": form.uscc, "entity": shown, "record": record, "grounds": GROUND_LABELS,
            "form": form.model_dump(), "error": error}, status_code=422)
    return RedirectResponse(f"/case/{ticket['ticket']}?filed=1", status_code=303)


@router.get("/case/{ticket}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket: Annotated[str, Path(max_length=32)], conn: ConnDep, client: PublicDep,
                filed: bool = False) -> HTMLResponse:
    try:
        case = get_case(conn, ticket).public()
    except CaseNotFound as exc:
        return templates.TemplateResponse(request, "case.html", {"case": None, "error": str(exc)}, status_code=404)
    return templates.TemplateResponse(request, "case.html", {
        "case": case, "filed": filed, "grounds": GROUND_LABELS, "error": None})


@router.get("/case", response_class=HTMLResponse)
def ticket_lookup(ticket: Annotated[str, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]) -> RedirectResponse:
    return RedirectResponse(f"/case/{ticket.strip()}", status_code=303)

"""The public query page: server-rendered HTML over the same functions as the public API.

Everything a person reads here is Chinese: refusals come worded by ``api.messages``, and an error
that reaches no route (404, 422, 429) is a page of the site too (``api.errors``)."""

from __future__ import annotations

import math
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from api.case_schemas import EvidenceIn, ObjectionIn, RepairIn
from api.deps import ConnDep, PublicDep, UsccPath
from api.messages import PublicError, validation_message
from api.routers.cases import file_objection, file_repair
from api.routers.public import find, public_entity
from api.templating import templates
from credit_engine.industries import industry_name
from credit_engine.workflows import CaseNotFound, get_case
from credit_engine.workflows.cases import normalise_ticket
from credit_engine.workflows.repair import KIND_ZH, REPAIRABLE_KINDS

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20

REGISTRATION = (
    ("market_type", "市场主体类型"),
    ("legal_rep_name", "法定代表人"),
    ("established_on", "成立日期"),
    ("reg_status", "登记状态"),
    ("authority", "登记机关"),
    ("address", "住所"),
    ("industry_code", "所属行业"),
    ("business_scope", "经营范围"),
)
KINDS = tuple((kind, KIND_ZH[kind]) for kind in ("penalty", "abnormal", "serious", "court", "license", "inspection"))
DETAIL_LABELS = {
    "party_name": "当事人",
    "violation_type": "违法行为类型",
    "facts_text": "违法事实",
    "basis": "处罚依据",
    "content": "处罚内容",
    "document_name": "文件名称",
    "certificate": "许可证书",
    "licence_no": "许可编号",
    "valid_from": "有效期自",
    "name": "名称",
    "reason": "列入原因",
    "listed_by": "作出决定机关",
    "removal_reason": "移出原因",
    "removed_by": "移出决定机关",
    "court": "执行法院",
    "basis_doc": "执行依据文号",
    "published_on": "发布日期",
    "conduct": "失信行为情形",
    "performance": "履行情况",
    "inspection_type": "检查类型",
    "result": "检查结果",
}
DATE_LABELS = {
    "penalty": "处罚决定日期",
    "abnormal": "列入日期",
    "serious": "列入日期",
    "court": "立案日期",
    "license": "许可决定日期",
    "inspection": "检查日期",
}
CATEGORY_TITLES = {
    "penalty": "处罚种类",
    "abnormal": "列入原因",
    "serious": "列入情形",
    "license": "许可类别",
    "inspection": "检查结果",
    "court": "类别",
}

#: The stored category codes of some kinds, as the page shows them (the JSON API keeps the codes).
CATEGORY_LABELS: dict[str, dict[str | None, str]] = {
    "abnormal": {
        "annual_report": "未按照规定期限公示年度报告",
        "info_not_published": "未在责令的期限内公示有关企业信息",
        "false_info": "公示企业信息隐瞒真实情况、弄虚作假",
        "unreachable": "通过登记的住所或者经营场所无法联系",
    },
    "serious": {
        "abnormal_three_years": "被列入经营异常名录届满3年仍未履行相关义务",
        "life_and_health": "危害人民群众生命健康安全的严重违法行为",
        "fair_competition": "破坏公平竞争秩序的严重违法行为",
        "intellectual_property": "侵犯知识产权的严重违法行为",
        "refuses_decision": "拒不履行法定义务",
        "false_registration": "提交虚假材料、采取其他欺诈手段隐瞒重要事实取得市场主体登记",
        "other": "其他严重违法失信行为",
    },
    "inspection": {"ok": "未发现问题", "problem": "发现问题", "not_applicable": "未发现开展本次抽查涉及的经营活动"},
    "role": {
        "legal_representative": "法定代表人",
        "director": "董事",
        "supervisor": "监事",
        "manager": "经理",
        "cfo": "财务负责人",
        "shareholder": "股东",
        "controller": "实际控制人",
    },
}

GROUND_LABELS = {
    "error": "信息有误",
    "past_period": "超过公示期限仍在公示",
    "no_grounds": "无依据列入",
    "duplicate": "重复公示",
    "inconsistent": "与决定机关的决定不一致",
}
EVIDENCE_LABELS = {
    "fine_paid": "罚款缴纳凭证",
    "correction_done": "整改完成证明",
    "annual_report_filed": "已补报年度报告",
    "information_published": "已公示有关信息",
    "information_corrected": "已更正公示信息",
    "address_reachable": "可通过登记住所联系的证明",
    "document": "其他证明文件",
    "other": "其他",
}
OUTCOME_LABELS = {
    "approved": "准予修复",
    "rejected": "不予修复",
    "corrected": "已更正",
    "removed": "已撤下",
    "upheld": "维持原信息",
    "undetermined": "无法核实，异议意见与原信息一并公示",
}
_LIST_SEPARATORS = re.compile(r"[、；;，,]")


def deduplicated(value: object) -> object:
    """A list field with each item once: source exports repeat items (``食品销售；食品销售``)."""
    if isinstance(value, list):
        return "、".join(dict.fromkeys(str(v) for v in value if v not in (None, "")))
    if not isinstance(value, str) or not _LIST_SEPARATORS.search(value):
        return value
    items = [item.strip() for item in _LIST_SEPARATORS.split(value)]
    kept = list(dict.fromkeys(item for item in items if item))
    if len(kept) == len([item for item in items if item]):
        return value  # nothing repeated: keep the source's own punctuation
    joiner = "；" if "；" in value or ";" in value else "、"
    return joiner.join(kept)


def record_label(record: dict) -> str:
    """How a record is named to a person: 行政处罚 哈市市监罚〔2025〕3号 2025-03-01."""
    kind = KIND_ZH.get(record["kind"], "公示信息").removesuffix("信息")
    return " ".join(str(part) for part in (kind, record.get("document_no"), record.get("event_date")) if part)


def record_rows(record: dict, entity_name: str | None = None) -> list[tuple[str, str]]:
    """A record as label/value rows, in the order a reader looks for them; no empty row and no
    value twice (a listing ground we can name replaces the source's own wording of it)."""
    kind, detail = record["kind"], dict(record["detail"])
    category = record.get("category")
    if category in CATEGORY_LABELS.get(kind, {}):
        detail.pop("reason", None)
    rows: list[tuple[str, object]] = [
        ("文书编号", record.get("document_no")),
        (DATE_LABELS.get(kind, "日期"), record.get("event_date")),
        (CATEGORY_TITLES.get(kind, "类别"), deduplicated(CATEGORY_LABELS.get(kind, {}).get(category, category))),
        ("决定机关", record.get("authority")),
        ("罚没金额（元）", f"{record['amount_yuan']:,.2f}" if record.get("amount_yuan") else None),
    ]
    rows += [
        (DETAIL_LABELS[key], deduplicated(value))
        for key, value in detail.items()
        if key in DETAIL_LABELS and not (key == "name" and value == entity_name)
    ]
    if kind in ("abnormal", "serious", "court") and record.get("end_date"):
        rows.append(("移出日期", record["end_date"]))
    rows.append(("公示截止日期", record.get("publicity_end")))
    seen: set[str] = set()
    shown = []
    for label, value in rows:
        if value in (None, "") or str(value) in seen:
            continue
        seen.add(str(value))
        shown.append((label, str(value)))
    return shown


def people(records: list[dict]) -> list[dict]:
    """主要人员: one row a person, the roles joined (a person is named once per role in the source)."""
    held: dict[str, list[str]] = {}
    for record in records:
        if record["kind"] == "role" and record.get("person_name"):
            role = CATEGORY_LABELS["role"].get(record.get("category"), record.get("category") or "")
            held.setdefault(record["person_name"], [])
            if role and role not in held[record["person_name"]]:
                held[record["person_name"]].append(role)
    return [{"name": name, "roles": "、".join(roles)} for name, roles in held.items()]


def card(shown: dict) -> dict:
    """The entity's published information, arranged for the card."""
    entity = dict(shown["entity"])
    if entity.get("industry_code"):
        named = industry_name(entity["industry_code"])
        entity["industry_code"] = f"{entity['industry_code']} {named}" if named else entity["industry_code"]
    registration = [(label, deduplicated(entity[key])) for key, label in REGISTRATION if entity.get(key)]
    sections = []
    for kind, label in KINDS:
        records = [
            {
                **r,
                "rows": record_rows(r, entity.get("name")),
                "label": record_label(r),
                "repairable": kind in REPAIRABLE_KINDS,
            }
            for r in shown["records"]
            if r["kind"] == kind
        ]
        if records:
            sections.append({"kind": kind, "label": label, "records": records})
    return {
        "uscc": shown["uscc"],
        "as_of": shown["as_of"],
        "name": entity.get("name"),
        "registration": registration,
        "sections": sections,
        "people": people(shown["records"]),
    }


def _pages(total: int, page: int) -> dict:
    last = max(1, math.ceil(total / PAGE_SIZE))
    return {
        "page": page,
        "last": last,
        "prev": page - 1 if page > 1 else None,
        "next": page + 1 if page < last else None,
    }


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    conn: ConnDep,
    client: PublicDep,
    q: Annotated[str | None, Query(max_length=60)] = None,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
) -> Response:
    """A query that is exactly a known code opens the card; any other lists the matches, paged."""
    found, error, code = None, None, 200
    if q and q.strip():
        try:
            found = find(conn, q, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        except PublicError as exc:
            error, code = exc.message, exc.status_code
        if found and found.total == 1 and found.hits and found.hits[0].match == "code":
            return RedirectResponse(f"/entity/{found.hits[0].uscc}", status_code=303)
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "q": q,
            "found": found,
            "error": error,
            "pages": _pages(found.total, page) if found else None,
            "link": lambda n: "/?" + urlencode({"q": q, "page": n}),
        },
        status_code=code,
    )


def _shown(conn: Connection, uscc: str) -> tuple[dict | None, PublicError | None]:
    try:
        return public_entity(conn, uscc), None
    except PublicError as exc:
        return None, exc


@router.get("/entity/{uscc}", response_class=HTMLResponse)
def entity(request: Request, uscc: UsccPath, conn: ConnDep, client: PublicDep) -> HTMLResponse:
    shown, error = _shown(conn, uscc)
    if error:
        return templates.TemplateResponse(
            request, "index.html", {"q": uscc, "found": None, "error": error.message}, status_code=error.status_code
        )
    assert shown is not None  # _shown gives the entity or an error
    return templates.TemplateResponse(request, "entity.html", {"entity": card(shown)})


def _record(conn: Connection, uscc: str | None, ref: str | None) -> tuple[dict | None, dict | None]:
    """The entity's card and the published record named by ``ref`` (None when not found)."""
    if not uscc:
        return None, None
    shown, error = _shown(conn, uscc)
    if error:
        return None, None
    assert shown is not None  # _shown gives the entity or an error
    shown_card = card(shown)
    found = next((r for s in shown_card["sections"] for r in s["records"] if r["ref"] == ref), None)
    return shown_card, found


Uscc = Annotated[str | None, Query(max_length=18, pattern=r"^[0-9A-Za-z]*$")]
Ref = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9a-f]*$")]


@router.get("/objection", response_class=HTMLResponse)
def objection_form(
    request: Request, conn: ConnDep, client: PublicDep, uscc: Uscc = None, ref: Ref = None
) -> HTMLResponse:
    shown, record = _record(conn, uscc, ref)
    return templates.TemplateResponse(
        request,
        "objection.html",
        {"uscc": uscc, "entity": shown, "record": record, "grounds": GROUND_LABELS, "form": {}, "error": None},
    )


class ObjectionForm(BaseModel):
    """The page's form fields; validated again as an ``ObjectionIn``."""

    uscc: str = ""
    ref: str = ""
    ground: str = ""
    statement: str = ""
    objector: str = ""
    contact: str = ""
    evidence: str = ""


def _refusal(exc: HTTPException | ValidationError) -> str:
    if isinstance(exc, PublicError):
        return exc.message
    if isinstance(exc, ValidationError):
        return validation_message(list(exc.errors()))
    return "提交未被受理，请检查后重新提交。"


@router.post("/objection", response_class=HTMLResponse)
def objection_submit(
    request: Request, conn: ConnDep, client: PublicDep, form: Annotated[ObjectionForm, Form()]
) -> Response:
    """The form posts here (no script needed); the answer is the ticket page, or the form again
    with the precise reason it was refused."""
    try:  # the evidence too: a description beyond its limit is the form's error, not the server's
        evidence = [EvidenceIn(kind="document", description=form.evidence)] if form.evidence.strip() else []
        body = ObjectionIn(
            uscc=form.uscc,
            ref=form.ref,
            ground=form.ground,
            statement=form.statement,
            objector=form.objector,
            contact=form.contact or None,
            evidence=evidence,
        )
        ticket = file_objection(body, conn, client, request.app.state.service)
    except (HTTPException, ValidationError) as exc:
        shown, record = _record(conn, form.uscc, form.ref)
        return templates.TemplateResponse(
            request,
            "objection.html",
            {
                "uscc": form.uscc,
                "entity": shown,
                "record": record,
                "grounds": GROUND_LABELS,
                "form": form.model_dump(),
                "error": _refusal(exc),
            },
            status_code=422,
        )
    return RedirectResponse(f"/case/{ticket['ticket']}?filed=1", status_code=303)


@router.get("/repair", response_class=HTMLResponse)
def repair_form(request: Request, conn: ConnDep, client: PublicDep, uscc: Uscc = None, ref: Ref = None) -> HTMLResponse:
    shown, record = _record(conn, uscc, ref)
    return templates.TemplateResponse(
        request,
        "repair.html",
        {
            "uscc": uscc,
            "entity": shown,
            "record": record,
            "evidence_kinds": EVIDENCE_LABELS,
            "form": {"applicant": (shown or {}).get("name") or ""},
            "error": None,
        },
    )


class RepairForm(BaseModel):
    """The repair form's fields; validated again as a ``RepairIn``."""

    uscc: str = ""
    ref: str = ""
    applicant: str = ""
    contact: str = ""
    obligations_performed: bool = False
    commitment_signed: bool = False
    commitment_text: str = ""
    evidence_kind: str = "document"
    evidence: str = ""


@router.post("/repair", response_class=HTMLResponse)
def repair_submit(request: Request, conn: ConnDep, client: PublicDep, form: Annotated[RepairForm, Form()]) -> Response:
    """Checked at once: a refused application gets its ticket too, with every reason in Chinese."""
    try:
        evidence = [EvidenceIn(kind=form.evidence_kind, description=form.evidence)] if form.evidence.strip() else []
        body = RepairIn(
            uscc=form.uscc,
            ref=form.ref,
            applicant=form.applicant,
            contact=form.contact or None,
            obligations_performed=form.obligations_performed,
            commitment_signed=form.commitment_signed,
            commitment_text=form.commitment_text,
            evidence=evidence,
        )
        ticket = file_repair(body, conn, client, request.app.state.service)
    except (HTTPException, ValidationError) as exc:
        shown, record = _record(conn, form.uscc, form.ref)
        return templates.TemplateResponse(
            request,
            "repair.html",
            {
                "uscc": form.uscc,
                "entity": shown,
                "record": record,
                "evidence_kinds": EVIDENCE_LABELS,
                "form": form.model_dump(),
                "error": _refusal(exc),
            },
            status_code=422,
        )
    return RedirectResponse(f"/case/{ticket['ticket']}?filed=1", status_code=303)


@router.get("/case/{ticket}", response_class=HTMLResponse)
def ticket_page(
    request: Request, ticket: Annotated[str, Path(max_length=40)], conn: ConnDep, client: PublicDep, filed: bool = False
) -> HTMLResponse:
    try:
        case = get_case(conn, ticket).public()
    except CaseNotFound:
        message = f"未找到受理编号为“{ticket.strip()}”的申请，请核对编号后重新查询。"
        return templates.TemplateResponse(request, "case.html", {"case": None, "error": message}, status_code=404)
    shown, record = _record(conn, case["uscc"], case["fact_ref"])
    return templates.TemplateResponse(
        request,
        "case.html",
        {
            "case": case,
            "filed": filed,
            "grounds": GROUND_LABELS,
            "outcomes": OUTCOME_LABELS,
            "entity": shown,
            "record": record,
            "error": None,
        },
    )


@router.get("/case", response_class=HTMLResponse)
def ticket_lookup(request: Request, ticket: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The ticket box: spaces, case and a zero for the O of an objection do not matter."""
    wanted = normalise_ticket(ticket)
    if not re.fullmatch(r"[A-Z][0-9]{8}-[0-9a-z]+", wanted):
        message = (
            "请输入受理编号（如 O20260630-1a2b3c4d5e6f）。"
            if not wanted
            else f"“{ticket.strip()}”不是受理编号：受理编号形如 O20260630-1a2b3c4d5e6f。"
        )
        return templates.TemplateResponse(request, "case.html", {"case": None, "error": message}, status_code=422)
    return RedirectResponse(f"/case/{wanted}", status_code=303)

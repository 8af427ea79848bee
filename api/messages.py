"""The public's words: Chinese messages for what the page and the public API refuse, beside the
English, machine-readable codes the API keeps for programs (``PublicError``).

Nothing here decides anything: each function words a refusal the core or a dependency made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import HTTPException
from stdnum.cn import uscc as stdnum_uscc

from credit_engine.identifiers import USCC_ALPHABET, CodeCheck, CodeKind


class PublicError(HTTPException):
    """An HTTP error with a code for programs and a Chinese ``message`` for people: the JSON body is
    ``{"detail": English, "code": ..., "message": Chinese}``; the page shows the message."""

    def __init__(
        self, status_code: int, detail: str, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, detail, headers)
        self.code, self.message = code, message


def code_problem(check: CodeCheck) -> str:
    """Why a value is not a usable unified social credit code, in Chinese."""
    value = check.value
    if check.kind is CodeKind.EMPTY:
        return "请输入统一社会信用代码。"
    if check.kind is CodeKind.USCC_CHECK_FAILED:
        return (
            f"统一社会信用代码校验位应为{stdnum_uscc.calc_check_digit(value[:17])}，"
            f"输入的是{value[17]}，请核对后重新输入。"
        )
    if check.kind is CodeKind.REG_NO:
        return "这是15位的原工商注册号，请输入18位统一社会信用代码。"
    if check.kind is CodeKind.ORG_CODE:
        return "这是9位组织机构代码，请输入18位统一社会信用代码。"
    if check.kind is CodeKind.PLACEHOLDER:
        return "这是占位代码，不是有效的统一社会信用代码。"
    if check.kind is CodeKind.MASKED or "*" in value:
        return "代码中含有“*”（部分字符已隐去），请输入完整的18位统一社会信用代码。"
    if len(value) == 18:
        for position, char in enumerate(value, start=1):
            if 3 <= position <= 8 and not char.isdigit():
                return f"统一社会信用代码第{position}位应为数字（登记管理机关行政区划码），输入的是“{char}”。"
            if char not in USCC_ALPHABET:
                return f"统一社会信用代码第{position}位的“{char}”不是代码使用的字符（代码不使用字母I、O、S、V、Z）。"
    return f"统一社会信用代码应为18位，输入的是{len(value)}位。"


def invalid_uscc(raw: str, check: CodeCheck) -> PublicError:
    return PublicError(
        422, f"{raw!r} is not a valid unified social credit code: {check.reason}", "invalid_uscc", code_problem(check)
    )


def unknown_entity(code: str) -> PublicError:
    return PublicError(404, f"no entity {code}", "unknown_entity", f"未找到统一社会信用代码为{code}的市场主体。")


def unknown_ticket(ticket: str) -> PublicError:
    return PublicError(
        404,
        f"no case with ticket {ticket!r}",
        "unknown_ticket",
        f"未找到受理编号为“{ticket.strip()}”的申请，请核对编号后重新查询。",
    )


QUERY_TOO_SHORT = (
    "q: at least 2 characters besides spaces",
    "query_too_short",
    "请至少输入2个字（不含空格），或输入18位统一社会信用代码。",
)


def rate_limited(limit: str, wait: int) -> PublicError:
    return PublicError(
        429,
        f"more than {limit} public queries; retry in {wait} s",
        "rate_limited",
        f"查询过于频繁，请{wait}秒后再试。",
        headers={"Retry-After": str(wait)},
    )


#: The public names of request fields, for a refused form or query.
FIELD_NAMES = {
    "q": "查询内容",
    "page": "页码",
    "size": "每页条数",
    "ticket": "受理编号",
    "uscc": "统一社会信用代码",
    "ref": "公示信息",
    "ground": "异议理由",
    "statement": "异议内容",
    "objector": "异议人",
    "contact": "联系方式",
    "evidence": "证明材料",
    "applicant": "申请人",
    "commitment_text": "信用承诺内容",
    "description": "说明",
    "obligations_performed": "履行义务情况",
    "commitment_signed": "信用承诺书",
    "draw": "抽取批次",
    "kind": "材料类型",
}
#: Pydantic error types, worded.
_ERROR_TYPES = {
    "missing": "必须填写",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "literal_error": "不是可选的值",
    "bool_parsing": "应为是或否",
    "date_from_datetime_parsing": "应为日期（如2026-06-30）",
    "date_parsing": "应为日期（如2026-06-30）",
    "json_invalid": "请求内容不是有效的JSON",
}


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every refused field of a request, in Chinese: ``异议内容：必须填写；页码：数值过小``."""
    parts = []
    for error in errors:
        field = next((FIELD_NAMES[str(p)] for p in reversed(error.get("loc", ())) if str(p) in FIELD_NAMES), None)
        what = _ERROR_TYPES.get(error.get("type", ""), "填写有误")
        parts.append(f"{field}：{what}" if field else what)
    return "；".join(dict.fromkeys(parts)) + "。" if parts else "请求有误。"

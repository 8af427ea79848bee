"""A file's kind comes from its header: codes or Chinese names, any case or width."""

from __future__ import annotations

import pytest

from credit_engine.sources.headers import UnknownHeader, recognise

V2_CODES = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]


@pytest.mark.parametrize(
    "header",
    [
        V2_CODES,
        [c.lower() for c in V2_CODES],  # 信用中国 API keys
        [
            "ＣＦ＿ＸＤＲ＿ＳＨＸＹＭ",
            "ＣＦ＿ＷＳＨ",
            "ＣＦ＿ＣＦＬＢ",
            "ＣＦ＿ＪＤＲＱ",
            "ＣＦ＿ＣＦＪＧ",
        ],  # full width
        [
            "行政相对人名称",
            "行政相对人代码_1（统一社会信用代码）",
            "行政处罚决定书文号",
            "处罚类别",
            "处罚决定日期",
            "处罚机关",
        ],
    ],
)
def test_penalty_v2_in_every_spelling(header: list[str]) -> None:
    assert recognise(header).kind.label == "penalty v2"


def test_the_two_penalty_generations_are_told_apart() -> None:
    v1 = ["CF_WSH", "CF_CFLB1", "CF_XDR_MC", "CF_XDR_SHXYM", "CF_JDRQ", "CF_XZJG"]
    assert recognise(v1).kind.label == "penalty v1"


def test_unknown_columns_are_kept_aside() -> None:
    match = recognise(["\ufeff统一社会信用代码", "登记日期", "类别", "是否属实", "来源渠道"])
    assert match.kind.label == "complaint" and match.unknown == ("来源渠道",)
    assert match.columns["\ufeff统一社会信用代码"] == "uscc"


def test_no_kind_names_the_closest_and_what_it_lacks() -> None:
    with pytest.raises(UnknownHeader, match=r"closest is 'court'.*案号.*立案时间"):
        recognise(["被执行人姓名/名称", "身份证号码/组织机构代码", "执行法院"])

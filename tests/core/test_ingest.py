"""Ingest of every source kind and every defect class of DATA_CONTRACT.md, on every backend."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from credit_engine import ingest as ingest_module
from credit_engine.ingest import FileReport, ingest_paths, requeue
from credit_engine.settings import Settings
from credit_engine.store.repository import Store
from credit_engine.synth import synthesise
from tests.conftest import scratch_store
from tests.helpers import REG_HEADER, REP_A, REP_B, A, B, C, make_id, reg_rows, write_csv

PEN_V2 = [
    "CF_XDR_MC",
    "CF_XDR_SHXYM",
    "CF_XDR_GSZC",
    "CF_XDR_ZZJG",
    "CF_WSH",
    "CF_CFLB",
    "CF_NR",
    "CF_NR_FK",
    "CF_JDRQ",
    "CF_YXQ",
    "CF_CFJG",
]


def facts(engine: Engine, kind: str | None = None, current: bool = True) -> pd.DataFrame:
    sql = "SELECT * FROM fact WHERE 1=1" + (" AND superseded_at IS NULL" if current else "")
    if kind:
        sql += f" AND kind = '{kind}'"
    with engine.connect() as conn:
        return pd.read_sql_query(sql + " ORDER BY id", conn)


def quarantine(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query("SELECT * FROM quarantine ORDER BY id", conn)


def ingest(engine: Engine, settings: Settings, *paths: Path) -> list[FileReport]:
    return ingest_paths(list(paths), engine, settings)


@pytest.fixture
def registered(engine: Engine, settings: Settings, tmp_path: Path) -> Engine:
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows(), "utf-8-sig"))
    return engine


def test_registration_creates_entities_aliases_persons_and_roles(registered: Engine) -> None:
    with registered.connect() as conn:
        entities = pd.read_sql_query("SELECT * FROM entity ORDER BY uscc", conn)
        persons = pd.read_sql_query("SELECT * FROM person", conn)
        aliases = pd.read_sql_query("SELECT * FROM entity_alias", conn)
    assert list(entities["uscc"]) == sorted([A, B, C])  # B arrived in lower case (defect 1)
    row = entities.set_index("uscc").loc[B]
    assert row["registered_capital_yuan"] == pytest.approx(505_000)
    assert str(row["established_on"]) == "2019-07-09"
    assert pd.isna(row["approved_on"])  # "/" is a null spelling (defect 7)
    assert row["industry_code"] == "C1310" and row["region_code"] == "230102"
    assert set(aliases.query("alias_kind == 'reg_no'")["alias"]) == {"230102000012345", "230103000054321"}
    assert len(persons) == 2 and set(persons["masked_id"]) == {
        REP_A[:10] + "****" + REP_A[-4:],
        REP_B[:10] + "****" + REP_B[-4:],
    }
    roles = facts(registered, "role")
    assert set(roles["category"]) == {"legal_representative"} and len(roles) == 3
    unverified = roles[roles["person_key"].isna()].iloc[0]  # C's 王五 has no identity number: kept, flagged
    assert (unverified["subject_uscc"], unverified["person_name"], unverified["flags"]) == (
        C,
        "王五",
        "person_unverified",
    )


def test_penalty_v2_defects_resolve_to_the_best_key(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    rows = [
        [
            "甲",
            f" {A[:6]} {A[6:].lower()} ",
            "",
            "",
            "哈道市监罚〔2024〕1号",
            "罚款",
            "",
            "0.2",
            "2024-03-01",
            "",
            "道里分局",
        ],
        [
            "乙",
            "230103000054321",
            "",
            "",
            "哈南市监罚〔2024〕2号",
            "警告",
            "",
            "",
            "2024年3月2日",
            "",
            "南岗分局",
        ],  # defect 2: old reg no
        [
            "丙",
            C[8:17],
            "",
            "",
            "哈香市监罚〔2024〕3号",
            "罚款",
            "罚款2000元",
            "",
            "1709251200000",
            "9999-9-9",
            "香坊分局",
        ],  # org code, epoch ms
        [
            "甲",
            "00000000000000000X",
            "230102000012345",
            "",
            "哈道市监罚〔2024〕4号",
            "罚款、没收违法所得",
            "罚款金额:8万元",
            "",
            "2024-6-25 0:00:00",
            "无处罚期限",
            "道里分局",
        ],  # defect 3+10
        [
            "乙",
            "91230103******" + B[-4:].lower(),
            "",
            "",
            "哈南市监罚〔2024〕5号",
            "吊销许可证件",
            "",
            "",
            "2024-07-01",
            "",
            "南岗分局",
        ],
    ]
    ingest(registered, settings, write_csv(tmp_path / "pen.csv", PEN_V2, rows))
    pen = facts(registered, "penalty").set_index("document_no")
    assert pen.loc["哈道市监罚〔2024〕1号", "subject_uscc"] == A
    assert pen.loc["哈道市监罚〔2024〕1号", "amount_yuan"] == pytest.approx(2000)  # 0.2 万元
    assert pen.loc["哈南市监罚〔2024〕2号", "subject_uscc"] == B
    assert pen.loc["哈南市监罚〔2024〕2号", "flags"] == "resolved_from_reg_no"
    assert pen.loc["哈香市监罚〔2024〕3号", "subject_uscc"] == C
    assert str(pen.loc["哈香市监罚〔2024〕3号", "event_date"]) == "2024-03-01"  # epoch ms, Beijing time
    assert pd.isna(pen.loc["哈香市监罚〔2024〕3号", "end_date"])
    assert pen.loc["哈香市监罚〔2024〕3号", "amount_yuan"] == pytest.approx(2000)
    assert pen.loc["哈道市监罚〔2024〕4号", "subject_uscc"] == A
    assert pen.loc["哈道市监罚〔2024〕4号", "amount_yuan"] == pytest.approx(80_000)
    assert pen.loc["哈道市监罚〔2024〕4号", "category"] == "罚款、没收违法所得"
    # the masked code is not a parse error, but B's name is 乙食品 not 乙: it stays unresolved
    assert "哈南市监罚〔2024〕5号" not in pen.index
    q = quarantine(registered)
    assert list(q["reason_code"]) == ["masked_unresolved"]
    assert "CF_XDR_SHXYM" in q.loc[0, "reason"]


def test_masked_code_resolves_when_name_and_visible_characters_match_one_entity(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    masked = B[:6] + "******" + B[-6:].lower()
    rows = [["哈尔滨乙食品有限公司", masked, "", "", "X罚〔2024〕9号", "警告", "", "", "2024-07-01", "", "南岗分局"]]
    ingest(registered, settings, write_csv(tmp_path / "pen.csv", PEN_V2, rows))
    pen = facts(registered, "penalty")
    assert list(pen["subject_uscc"]) == [B] and list(pen["flags"]) == ["resolved_from_masked"]


def test_penalty_severity_and_publicity_follow_the_rules(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ["甲", A, "", "", "W1", "警告", "", "", "2024-03-01", "", "道里分局"],
        ["甲", A, "", "", "W2", "罚款", "", "0.5", "2024-03-01", "", "道里分局"],
        ["甲", A, "", "", "W3", "罚款", "", "20", "2024-03-01", "", "道里分局"],
        ["甲", A, "", "", "W4", "吊销许可证件", "", "", "2024-03-01", "", "道里分局"],
        ["甲", A, "", "", "W5", "罚款", "", "20", "2026-05-01", "", "道里分局"],
    ]
    ingest(registered, settings, write_csv(tmp_path / "pen.csv", PEN_V2, rows))
    pen = facts(registered, "penalty").set_index("document_no")
    assert pen.loc["W1", "severity"] == "minor" and not pen.loc["W1", "published"]
    # Order 45 counts from publication: without a publication date, decision + 20 working days (2024-03-29)
    assert pen.loc["W2", "severity"] == "minor" and str(pen.loc["W2", "publicity_end"]) == "2024-06-29"
    assert pen.loc["W3", "severity"] == "general" and str(pen.loc["W3", "publicity_end"]) == "2027-03-29"
    assert pen.loc["W4", "severity"] == "serious"
    assert pen.loc["W3", "rule_set_id"] == "cn-2021-09-01"
    # under the 2026 national tiers a general penalty is public for one year only
    assert pen.loc["W5", "rule_set_id"] == "cn-2026-04-01" and str(pen.loc["W5", "publicity_end"]) == "2027-05-01"


def test_the_source_stated_publicity_end_tier_and_publication_date_are_stored_as_given(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    """公示截止期 (CF_GSJZQ) and a stated tier are the issuing authority's: stored, flagged, not derived."""
    header = [
        "CF_XDR_MC",
        "CF_XDR_SHXYM",
        "CF_WSH",
        "CF_CFLB",
        "CF_NR_FK",
        "CF_JDRQ",
        "CF_GSJZQ",
        "公示类别",
        "公示日期",
        "CF_CFJG",
    ]
    reports = ingest(
        registered,
        settings,
        write_csv(
            tmp_path / "pen.csv",
            header,
            [
                ["甲", A, "E-1", "罚款", "20", "2024-03-01", "2024年9月1日", "", "", "局"],  # the authority's own end
                [
                    "甲",
                    A,
                    "T-1",
                    "罚款",
                    "5",
                    "2024-03-01",
                    "",
                    "严重",
                    "2024-03-05",
                    "局",
                ],  # its own tier and publication
                ["甲", A, "D-1", "罚款", "20", "2024-03-01", "9999-9-9", "", "", "局"],  # sentinel: no end stated
                ["甲", A, "B-1", "罚款", "20", "2024-03-01", "", "很重", "", "局"],  # not a tier
                [
                    "甲",
                    A,
                    "U-1",
                    "罚款",
                    "20",
                    "2024-03-01",
                    "明年",
                    "",
                    "",
                    "局",
                ],  # unreadable end: kept, flagged, derived
            ],
        ),
    )
    assert reports[0].quarantined == {"bad_tier": 1}
    pen = facts(registered, "penalty").set_index("document_no")
    detail = {k: json.loads(pen.loc[k, "detail_json"]) for k in ("E-1", "T-1", "D-1")}
    assert str(pen.loc["E-1", "publicity_end"]) == "2024-09-01" and detail["E-1"]["end_stated"] is True
    assert (pen.loc["T-1", "severity"], detail["T-1"]["tier_derived"], detail["T-1"]["tier_rule"]) == (
        "serious",
        False,
        "source",
    )
    assert detail["T-1"]["tier_stated"] is True and detail["T-1"]["published_on"].startswith("2024-03-05")
    assert str(pen.loc["T-1", "publicity_end"]) == "2027-03-05"  # serious 3 years from the stated publication
    assert (detail["E-1"]["tier_derived"], detail["E-1"]["tier_rule"]) == (True, "penalty.small_fine_max_yuan")
    assert not detail["D-1"]["end_stated"] and pd.isna(pen.loc["D-1", "flags"])  # flags stay review flags
    assert str(pen.loc["D-1", "publicity_end"]) == "2027-03-29"  # derived: 3 years from decision + 20 working days
    assert (
        "publicity_until_unreadable" in pen.loc["U-1", "flags"] and str(pen.loc["U-1", "publicity_end"]) == "2027-03-29"
    )


def test_key_area_repair_minimum_applies_only_to_the_areas_the_rule_set_names(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    header = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_SY", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
    rows = [
        ["乙", B, "F-1", "罚款", "销售过期食品", "20", "2024-03-01", "局"],
        ["乙", B, "H-1", "罚款", "违规储存危险化学品", "20", "2024-03-01", "局"],
    ]
    ingest(registered, settings, write_csv(tmp_path / "pen.csv", header, rows))
    pen = facts(registered, "penalty").set_index("document_no")
    food, chemicals = (json.loads(pen.loc[k, "detail_json"]) for k in ("F-1", "H-1"))
    assert (food["key_area"], chemicals["key_area"]) == ("食品", "危险化学品")
    # SAMR 2021 repair rules: 12 months for food, drugs, special equipment; 6 months otherwise, from
    # publication (no date in the source: decision + 20 working days, 2024-03-29)
    assert (food["repair_from"], chemicals["repair_from"]) == ("2025-03-29", "2024-09-29")


def test_penalty_v1_and_lower_case_jsonl_codes(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    v1 = [
        "CF_WSH",
        "CF_CFMC",
        "CF_CFLB1",
        "CF_CFLB2",
        "CF_XDR_MC",
        "CF_XDR_SHXYM",
        "CF_XDR_ZDM",
        "CF_JG",
        "CF_JDRQ",
        "CF_XZJG",
        "SJC",
    ]
    v1.insert(-1, "CF_ZT")
    write_csv(
        tmp_path / "v1.csv",
        v1,
        [
            [
                "V1-1",
                "处罚",
                "罚款",
                "没收违法所得",
                "甲",
                A,
                "",
                "罚款2000元",
                "2016-05-04",
                "道里局",
                "正常",
                "1568180781000",
            ],
            ["V1-2", "处罚", "罚款", "", "甲", A, "", "罚款500元", "2016-06-04", "道里局", "撤销", "1568180781000"],
        ],
        "gb18030",
    )
    record = {
        "cf_xdr_mc": "丙",
        "cf_xdr_shxym": C,
        "cf_wsh": "J-1",
        "cf_cflb": "通报批评",
        "cf_jdrq": "2021-01-05",
        "cf_cfjg": "香坊局",
    }
    (tmp_path / "api.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    reports = ingest(registered, settings, tmp_path / "v1.csv", tmp_path / "api.jsonl")
    assert {r.path.name: (r.kind, r.encoding) for r in reports} == {
        "v1.csv": ("penalty v1", "gb18030"),
        "api.jsonl": ("penalty v2", "utf-8"),
    }
    pen = facts(registered, "penalty").set_index("document_no")
    assert pen.loc["V1-1", "category"] == "罚款、没收违法所得" and pen.loc["V1-1", "amount_yuan"] == 2000
    assert (pen.loc["V1-1", "status"], pen.loc["V1-2", "status"]) == ("active", "withdrawn")  # 当前状态 撤销
    assert pen.loc["J-1", "subject_uscc"] == C


def test_licence_category_codes_and_text(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    v2 = ["XK_XDR_MC", "XK_XDR_SHXYM", "XK_WSH", "XK_XKLB", "XK_JDRQ", "XK_YXQZ", "XK_YXQZI", "XK_XKJG"]
    rows = [
        ["甲", A, "L1", "01", "2023-01-01", "2023-01-01", "2099-12-31 00:00:00", "局"],
        ["乙", B, "L2", "特许", "2023-02-01", "", "2028-02-01", "局"],
    ]
    v1 = [
        "行政许可决定书文号",
        "项目名称",
        "审批类别",
        "行政相对人名称",
        "行政相对人代码_1",
        "许可决定日期",
        "许可截止期",
        "许可机关",
    ]
    ingest(
        registered,
        settings,
        write_csv(tmp_path / "l2.csv", v2, rows),
        write_csv(tmp_path / "l1.csv", v1, [["L0", "食品经营", "普通", "丙", C, "2016年1月2日", "2021-1-1", "局"]]),
    )
    lic = facts(registered, "license").set_index("document_no")
    assert lic.loc["L1", "category"] == "普通" and pd.isna(lic.loc["L1", "end_date"])
    assert lic.loc["L2", "category"] == "特许" and str(lic.loc["L2", "end_date"]) == "2028-02-01"
    assert lic.loc["L0", "subject_uscc"] == C


def test_lists_court_and_signals(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    reason = "未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告的"
    ab = [
        "统一社会信用代码",
        "企业名称",
        "列入经营异常名录原因",
        "列入日期",
        "作出决定机关(列入)",
        "移出经营异常名录原因",
        "移出日期",
        "作出决定机关(移出)",
    ]
    se = [
        "统一社会信用代码",
        "企业名称",
        "列入严重违法失信企业名单原因",
        "列入日期",
        "作出决定机关(列入)",
        "移出严重违法失信企业名单原因",
        "移出日期",
        "作出决定机关(移出)",
    ]
    court = [
        "被执行人姓名/名称",
        "身份证号码/组织机构代码",
        "被执行人性质",
        "年龄",
        "执行法院",
        "案号",
        "立案时间",
        "移除日期",
    ]
    tax = ["统一社会信用代码", "纳税人名称", "评价年度", "纳税信用等级", "评定日期"]
    insp = ["统一社会信用代码", "企业名称", "抽查任务编号", "检查实施机关", "类型", "检查日期", "检查结果"]
    com = ["统一社会信用代码", "承诺类型", "承诺日期", "履约状态", "核查日期"]
    cpl = ["统一社会信用代码", "登记日期", "类别", "是否属实"]
    minor = make_id(99, birth="20100101")
    files = [
        write_csv(
            tmp_path / "ab.csv",
            ab,
            [
                [A, "甲", reason, "2022-07-01", "道里分局", "补报", "2023-01-05", "道里分局"],
                [B, "乙", "通过登记的住所或者经营场所无法联系的", "2023-07-01", "南岗", "", "暂无", ""],
            ],
            "gb18030",
        ),
        write_csv(
            tmp_path / "se.csv",
            se,
            [[C, "丙", "被列入经营异常名录届满3年仍未履行相关义务的", "2024-01-01", "省局", "", "", ""]],
        ),
        write_csv(
            tmp_path / "court.csv",
            court,
            [
                ["哈尔滨乙食品有限公司", B, "法人", "", "道里法院", "（2023）黑0102执1号", "2023-03-03", ""],
                ["张三", REP_A, "自然人", "31", "道里法院", "（2023）黑0102执2号", "2023-04-04", "2024-01-01"],
                ["赵六", "230102199501******", "自然人", "", "道里法院", "（2023）黑0102执3号", "2023-05-05", ""],
                ["小明", minor, "自然人", "13", "道里法院", "（2023）黑0102执4号", "2023-05-05", ""],
            ],
        ),
        write_csv(
            tmp_path / "tax.csv",
            tax,
            [[A, "甲", "2023", "ａ", "2024-04-01"], [B, "乙", "2023", "E", ""], [C, "丙", "2023年", "M", ""]],
        ),
        write_csv(
            tmp_path / "insp.csv",
            insp,
            [
                [A, "甲", "T-1", "局", "双随机抽查", "2024-05-05", "未发现问题"],
                [B, "乙", "T-1", "局", "双随机抽查", "2024-05-06", "通过登记的住所（经营场所）无法联系"],
                [C, "丙", "T-1", "局", "双随机抽查", "2024-05-07", "查无此结果"],
            ],
        ),
        write_csv(tmp_path / "com.csv", com, [[A, "信用修复承诺", "2024-01-01", "履约", "2024-06-01"]]),
        write_csv(
            tmp_path / "cpl.csv",
            cpl,
            [[A, "2024-01-01", "质量", "是"], [A, "2024-01-01", "质量", "是"], [B, "2024-02-01", "价格", "否"]],
        ),
    ]
    reports = {r.path.name: r for r in ingest(registered, settings, *files)}
    assert {n: r.kind for n, r in reports.items()} == {
        "ab.csv": "abnormal",
        "se.csv": "serious",
        "court.csv": "court",
        "tax.csv": "tax",
        "insp.csv": "inspection",
        "com.csv": "commitment",
        "cpl.csv": "complaint",
    }
    ab_facts = facts(registered, "abnormal").set_index("subject_uscc")
    assert ab_facts.loc[A, "category"] == "annual_report" and str(ab_facts.loc[A, "end_date"]) == "2023-01-05"
    assert ab_facts.loc[B, "category"] == "unreachable" and pd.isna(ab_facts.loc[B, "end_date"])
    assert facts(registered, "serious").loc[0, "category"] == "abnormal_three_years"

    court_facts = facts(registered, "court").set_index("document_no")
    assert court_facts.loc["（2023）黑0102执1号", "subject_uscc"] == B
    person = court_facts.loc["（2023）黑0102执2号"]
    assert pd.isna(person["subject_uscc"]) and len(person["person_key"]) == 32
    unresolved = court_facts.loc["（2023）黑0102执3号"]
    assert pd.isna(unresolved["person_key"]) and unresolved["flags"] == "person_unresolved"
    assert unresolved["person_masked_id"] == "230102199501******"
    assert reports["court.csv"].quarantined == {"minor_listed": 1}

    tax_facts = facts(registered, "tax").set_index("subject_uscc")
    assert tax_facts.loc[A, "category"] == "A" and tax_facts.loc[C, "category"] == "M"
    assert tax_facts.loc[C, "flags"] == "date_assumed" and str(tax_facts.loc[C, "event_date"]) == "2024-04-01"
    assert reports["tax.csv"].quarantined == {"bad_grade": 1}
    insp_facts = facts(registered, "inspection").set_index("subject_uscc")
    assert insp_facts.loc[A, "category"] == "ok" and insp_facts.loc[B, "category"] == "problem"
    assert reports["insp.csv"].quarantined == {"unknown_result": 1}
    assert len(facts(registered, "commitment")) == 1
    assert len(facts(registered, "complaint")) == 3  # two identical complaints on one day are two complaints


def test_personnel_roles_and_bad_ids(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    header = ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期", "任职终止日期", "持股比例"]
    old15 = REP_A[:6] + REP_A[8:17]  # the 15-digit form of the same person
    rows = [
        [A, "张三", old15, "执行董事兼总经理", "2015-07-10", "", ""],
        [B, "张三", REP_A, "股东", "2019-07-09", "", "40%"],
        [B, "钱七", REP_A[:-1] + ("0" if REP_A[-1] != "0" else "1"), "监事", "2019-07-09", "", ""],
        [C, "孙八", make_id(13), "打杂", "2019-07-09", "", ""],
        [C, "周九", make_id(14), "监事", "2020-01-01", "2019-01-01", ""],
    ]
    report = ingest(registered, settings, write_csv(tmp_path / "staff.csv", header, rows))[0]
    roles = facts(registered, "role")
    zhang = roles[roles["person_name"] == "张三"]
    assert zhang["person_key"].nunique() == 1  # 15- and 18-digit forms are one person
    assert sorted(zhang["category"]) == ["director", "legal_representative", "manager", "shareholder"]
    assert report.quarantined == {"bad_person_id": 1, "unknown_position": 1, "end_before_start": 1}
    bad = quarantine(registered).set_index("reason_code").loc["bad_person_id", "reason"]
    assert "bad_check" in bad and REP_A[:-1] not in bad  # the reason never repeats the number


def test_bad_rows_are_quarantined_and_the_rest_lands(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "pen.csv"
    write_csv(
        path,
        PEN_V2,
        [
            ["甲", A, "", "", "OK-1", "罚款", "", "1", "2024-03-01", "", "局"],
            ["甲", A, "", "", "BAD-1", "罚款", "", "1", "2019-02-30", "", "局"],
            ["甲", "123456789012345678", "", "", "BAD-2", "罚款", "", "1", "2024-03-01", "", "局"],
            ["甲", "310000400735611", "", "", "BAD-3", "罚款", "", "1", "2024-03-01", "", "局"],
            ["甲", A, "", "", "", "罚款", "", "1", "2024-03-01", "", "局"],
            ["甲", A, "", "", "OK-2", "罚款", "", "1", "2024-03-02", "", "局"],
        ],
    )
    with path.open("a", encoding="utf-8") as fh:
        fh.write("only,three,fields\n")
        fh.write("甲," + A + ',,,OK-3,罚款,"\n",1,2024-03-03,,局\n')  # a lone newline as null
    report = ingest(registered, settings, path)[0]
    assert report.rows_read == 8 and report.rows_accepted == 3
    assert set(facts(registered, "penalty")["document_no"]) == {"OK-1", "OK-2", "OK-3"}
    q = quarantine(registered).set_index("row_number")
    assert (
        q.loc[2, "reason_code"] == "bad_date" and "CF_JDRQ" in q.loc[2, "reason"] and "2019-02-30" in q.loc[2, "reason"]
    )
    assert q.loc[3, "reason_code"] == "placeholder_code"
    assert q.loc[4, "reason_code"] == "unknown_reg_no"
    assert q.loc[5, "reason_code"] == "missing_document_no"
    assert q.loc[7, "reason_code"] == "malformed_row" and "expected 11 fields, found 3" in q.loc[7, "reason"]
    with registered.connect() as conn:
        header = json.loads(
            conn.exec_driver_sql("SELECT header_json FROM source_file WHERE file_name = 'pen.csv'").scalar_one()
        )
    assert dict(zip(header, json.loads(q.loc[2, "raw_json"])))["CF_WSH"] == "BAD-1"
    assert "only,three,fields" in json.loads(q.loc[7, "raw_json"])


def test_pilot_code_failing_the_check_digit_is_kept_and_flagged(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    pilot = "91350211M0000XUF46"
    row = [pilot, "厦门试点公司", "", "", "", "", "2014-01-01", "", "", "", "存续", "", "", ""]
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, [row]))
    with engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT code_status FROM entity").scalar_one()
    assert status == "uscc_check_failed"
    registration = facts(engine, "registration").loc[0]
    assert registration["flags"] == "uscc_check_failed"
    assert registration["rule_set_id"] == "cn-2014-10-01"  # older than every rule set: judged by the earliest


def test_reingest_is_idempotent_and_changes_make_versions(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    ab = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]
    first = write_csv(tmp_path / "ab1.csv", ab, [[A, "甲", "无法联系", "2022-07-01", ""]])
    assert ingest(registered, settings, first)[0].facts_new == 1
    before = facts(registered, current=False)
    again = ingest(registered, settings, first)[0]
    assert again.status == "unchanged"
    pd.testing.assert_frame_equal(facts(registered, current=False), before)

    # the same listing exported again later, now with its removal: a new version, the old one kept
    later = write_csv(
        tmp_path / "ab2.csv",
        ab,
        [[A, "甲", "无法联系", "2022-07-01", "2023-01-01"], [A, "甲", "无法联系", "2022-07-01", "2023-01-01"]],
    )
    report = ingest(registered, settings, later)[0]
    assert (report.facts_versioned, report.facts_new, report.duplicates) == (1, 0, 1)
    history = facts(registered, "abnormal", current=False)
    assert list(history["version"]) == [1, 2]
    assert history.loc[0, "superseded_at"] is not None and pd.isna(history.loc[1, "superseded_at"])
    assert pd.isna(history.loc[0, "end_date"]) and str(history.loc[1, "end_date"]) == "2023-01-01"

    # a file mixing facts already known with new ones: the known are left alone, the new all land
    mixed = write_csv(
        tmp_path / "ab3.csv",
        ab,
        [
            [A, "甲", "无法联系", "2022-07-01", "2023-01-01"],
            [B, "乙", "无法联系", "2024-07-01", ""],
            [C, "丙", "无法联系", "2024-08-01", ""],
        ],
    )
    report = ingest(registered, settings, mixed)[0]
    assert (report.facts_unchanged, report.facts_new) == (1, 2)
    assert sorted(facts(registered, "abnormal")["subject_uscc"]) == sorted([A, B, C])


def test_the_same_rows_in_another_file_make_no_new_versions(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A refused row beside them must not change how the kept rows are hashed."""
    good = [["甲", A, "", "", f"R{n}", "罚款", "", "20", "2024-03-01", "", "道里分局"] for n in range(3)]
    bad = ["甲", A, "", "", "R9", "罚款", "", "20", "2019-02-30", "", "道里分局"]
    first = ingest(registered, settings, write_csv(tmp_path / "pen.csv", PEN_V2, [*good, bad]))[0]
    assert (first.facts_new, first.rows_quarantined) == (3, 1)
    again = ingest(registered, settings, write_csv(tmp_path / "pen-renamed.csv", PEN_V2, good))[0]
    assert (again.status, again.facts_new, again.facts_versioned, again.facts_unchanged) == ("ingested", 0, 0, 3)


def test_a_crash_in_the_middle_of_a_file_leaves_nothing_of_it(
    registered: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(
        tmp_path / "pen.csv",
        PEN_V2,
        [
            ["甲", A, "", "", "C-1", "罚款", "", "1", "2024-03-01", "", "局"],
            ["甲", "bad", "", "", "C-2", "罚款", "", "1", "2024-03-01", "", "局"],
        ],
    )
    with registered.connect() as conn:
        counts = {
            t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar()
            for t in ("fact", "source_file", "quarantine", "entity", "person")
        }

    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(Store, "add_quarantine", explode)  # runs after the facts were written
    report = ingest(registered, settings, path)[0]
    assert report.status == "failed" and "power cut" in report.error
    with registered.connect() as conn:
        after = {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() for t in counts}
    assert after == counts
    monkeypatch.undo()
    assert ingest(registered, settings, path)[0].facts_new == 1  # and the file can be ingested again


@pytest.mark.parametrize("failing", ["write of the second chunk", "transform of the third chunk"])
def test_a_failure_while_a_chunk_is_being_written_leaves_nothing_of_the_file(
    registered: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Chunks are written on a worker thread while the next is transformed: whichever side fails,
    the file's transaction ends after the write in flight and is rolled back whole."""
    path = write_csv(
        tmp_path / "pen.csv",
        PEN_V2,
        [["甲", A, "", "", f"W-{n}", "罚款", "", "1", "2024-03-01", "", "局"] for n in range(4)],
    )
    with registered.connect() as conn:
        before = conn.exec_driver_sql("SELECT COUNT(*) FROM fact").scalar()
    target, name = (Store, "write_facts") if failing.startswith("write") else (ingest_module, "_transform")
    original, calls = getattr(target, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == (2 if target is Store else 3):
            raise RuntimeError(f"failed: {failing}")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    report = ingest_paths([path], registered, settings.model_copy(update={"ingest_chunk_rows": 1}))[0]
    assert report.status == "failed" and failing in report.error
    with registered.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM fact").scalar() == before
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM source_file WHERE file_name = 'pen.csv'").scalar() == 0
    monkeypatch.undo()
    assert ingest_paths([path], registered, settings)[0].facts_new == 4


def test_fact_ids_follow_the_files_row_order(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    """PostgreSQL receives a chunk's rows sorted by key; the ids (a tie-break in records and
    histories) must still follow the order of the file, across chunks too. On PostgreSQL the
    sequence also steps by 3, as if other sessions took ids meanwhile: the ids are then fetched
    one by one, and must keep the same order."""
    postgres = registered.dialect.name == "postgresql"
    if postgres:
        with registered.begin() as conn:
            sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence('fact', 'id')").scalar_one()
            conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} INCREMENT BY 3")
    rows = [
        ["甲", A, "", "", f"K-{9 - n}", "罚款", "", "1", "2024-03-01", "", "局"] for n in range(6)
    ]  # keys descending
    ingest_paths(
        [write_csv(tmp_path / "pen.csv", PEN_V2, rows)],
        registered,
        settings.model_copy(update={"ingest_chunk_rows": 4}),
    )
    stored = facts(registered, "penalty")
    assert stored["document_no"].tolist() == [f"K-{9 - n}" for n in range(6)]
    assert stored["source_row"].tolist() == list(range(1, 7))
    if postgres:
        assert set(stored["id"].diff().dropna()) == {3}


def test_every_ingested_or_rejected_file_is_audited(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())
    odd = write_csv(tmp_path / "odd.csv", ["列入日期"], [["2020-01-01"]])
    ingest_paths([good, odd], engine, settings, actor="cli:analyst")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, action, detail_json FROM audit_log ORDER BY id").all()
    assert [(a, b) for a, b, _ in rows] == [("cli:analyst", "ingest"), ("cli:analyst", "ingest_rejected")]
    assert json.loads(rows[0][2])["facts_new"] == 6  # 3 registrations, 3 legal representatives (one unverified)


def test_unrecognised_header_and_bad_encoding_are_clear_errors(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    odd = write_csv(tmp_path / "odd.csv", ["统一社会信用代码", "企业名称", "列入日期"], [[A, "甲", "2020-01-01"]])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xfe\xff,\xff\n")
    reports = {r.path.name: r for r in ingest(engine, settings, odd, latin)}
    assert reports["odd.csv"].status == "rejected"
    assert "closest is 'abnormal'" in reports["odd.csv"].error and "列入经营异常名录原因" in reports["odd.csv"].error
    assert reports["latin.csv"].status == "rejected" and "neither UTF-8 nor GB18030" in reports["latin.csv"].error
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM source_file WHERE status = 'rejected'").scalar() == 2


def test_identity_numbers_never_stored_in_clear(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    court = ["被执行人姓名/名称", "身份证号码/组织机构代码", "被执行人性质", "案号", "立案时间"]
    ingest(
        registered,
        settings,
        write_csv(
            tmp_path / "court.csv",
            court,
            [["张三", REP_A, "自然人", "（2023）执5号", "2023-03-03"], ["李四", REP_B, "自然人", "", "2023-03-03"]],
        ),
    )
    with registered.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("fact", "quarantine", "person", "entity", "source_file")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}").all()
        )
    for full in (REP_A, REP_B):
        assert full not in dump and full[:6] + full[8:17] not in dump
    assert REP_A[:10] + "****" + REP_A[-4:] in dump  # the masked form is what is kept


def test_an_old_code_shared_by_two_entities_is_never_guessed(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    shared = "230102000099999"
    rows = [r[:13] + [shared] for r in reg_rows()[:2]]  # a data error: one old number, two entities
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, rows))
    pen = [["甲", shared, "", "", "AMB-1", "罚款", "", "1", "2024-03-01", "", "局"]]
    report = ingest(engine, settings, write_csv(tmp_path / "pen.csv", PEN_V2, pen))[0]
    assert report.quarantined == {"ambiguous_old_code": 1}
    assert "shared by several entities" in quarantine(engine).loc[0, "reason"]


def test_awkward_text_survives_the_bulk_write_paths(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    awkward = 'tab\there, back\\slash \\N, "quoted"\nnew line\r\nand 中文'
    header = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_SY", "CF_JDRQ", "CF_CFJG"]
    ingest(
        registered,
        settings,
        write_csv(tmp_path / "pen.csv", header, [["甲", A, "T\\1", "警告", awkward, "2024-03-01", "局\t一"]]),
    )
    pen = facts(registered, "penalty").loc[0]
    assert json.loads(pen["detail_json"])["facts_text"] == awkward
    assert json.loads(pen["raw_json"])[4] == awkward
    assert (pen["document_no"], pen["authority"]) == ("T\\1", "局\t一")


def test_a_refused_row_teaches_no_alias_and_breaks_nothing(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    # review finding: aliases learned from a quarantined row pointed at an entity never written
    rows = [
        ["甲", A, "", "", "R-1", "罚款", "", "1", "2023-02-01", "", "局"],
        ["乙", B, "", "", "R-2", "罚款", "", "1", "2023-02-30", "", "局"],
    ]
    report = ingest(engine, settings, write_csv(tmp_path / "pen.csv", PEN_V2, rows))[0]
    assert report.status == "ingested" and report.quarantined == {"bad_date": 1}
    with engine.connect() as conn:
        assert {u for (u,) in conn.exec_driver_sql("SELECT DISTINCT uscc FROM entity_alias").all()} == {A}


def test_one_failing_file_does_not_stop_the_others(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    header_only = tmp_path / "empty.csv"
    header_only.write_text(",".join(PEN_V2), encoding="utf-8")  # no newline, no rows
    huge = write_csv(
        tmp_path / "huge.csv", PEN_V2, [["甲", A, "", "", "H-1", "罚款", "长" * 700_000, "1", "2023-02-01", "", "局"]]
    )
    ok = write_csv(tmp_path / "ok.csv", PEN_V2, [["甲", A, "", "", "OK-9", "罚款", "", "1", "2023-02-01", "", "局"]])
    reports = {r.path.name: r for r in ingest(engine, settings, header_only, huge, ok)}
    assert reports["empty.csv"].status == "ingested" and reports["empty.csv"].rows_read == 0
    assert reports["huge.csv"].status == "ingested" and reports["huge.csv"].facts_new == 1
    assert reports["ok.csv"].facts_new == 1


def test_a_resident_id_in_a_code_column_is_a_person_never_an_entity(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    # review finding: an all-digit ID failed the USCC check and was kept, in clear, as an entity key
    court = ["被执行人姓名/名称", "身份证号码/组织机构代码", "案号", "立案时间"]
    child = make_id(31, birth="20090101")
    ingest(
        engine,
        settings,
        write_csv(
            tmp_path / "court.csv",
            court,
            [["张三", REP_A, "（2023）执7号", "2023-03-03"], ["小红", child, "（2023）执8号", "2023-03-03"]],
        ),
    )
    pen = ["CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_CFJG"]
    ingest(
        engine,
        settings,
        write_csv(tmp_path / "pen.csv", pen, [["李四", "自然人", REP_B, "P-1", "警告", "2023-03-03", "局"]]),
    )
    court_facts = facts(engine, "court")
    assert (
        len(court_facts) == 1
        and court_facts.loc[0, "subject_uscc"] is None
        and len(court_facts.loc[0, "person_key"]) == 32
    )
    assert quarantine(engine).set_index("reason_code").index.tolist() == ["minor_listed"]
    pen_fact = facts(engine, "penalty").loc[0]
    assert pen_fact["subject_uscc"] is None and len(pen_fact["person_key"]) == 32
    with engine.connect() as conn:
        dump = "\n".join(
            str(r)
            for t in ("entity", "fact", "quarantine", "entity_alias")
            for r in conn.exec_driver_sql(f"SELECT * FROM {t}").all()
        )
    for full in (REP_A, REP_B, child):
        assert full not in dump


def test_malformed_identity_numbers_are_masked_in_stored_rows(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    header = ["统一社会信用代码", "姓名", "证件号码", "职务"]
    odd = ["230102199513451234", "23010219950101123"]  # impossible month; 17 digits
    ingest(
        registered,
        settings,
        write_csv(tmp_path / "staff.csv", header, [[A, "甲", odd[0], "监事"], [A, "乙", odd[1], "监事"]]),
    )
    stored = " ".join(quarantine(registered)["raw_json"])
    assert all(value not in stored for value in odd)


def test_every_kept_person_is_stored_even_when_another_of_their_rows_is_refused(
    registered: Engine, settings: Settings, tmp_path: Path
) -> None:
    header = ["统一社会信用代码", "姓名", "证件号码", "职务"]
    person = make_id(40)
    ingest(
        registered,
        settings,
        write_csv(tmp_path / "staff.csv", header, [[A, "赵", person, "董事"], [B, "赵", person, "打杂"]]),
    )
    role = facts(registered, "role").query("category == 'director'").iloc[0]
    with registered.connect() as conn:
        names = conn.exec_driver_sql(f"SELECT name FROM person WHERE pseudonym = '{role['person_key']}'").all()
    assert names == [("赵",)]


def test_fact_keys_are_stable_across_exports(registered: Engine, settings: Settings, tmp_path: Path) -> None:
    court = ["被执行人姓名/名称", "身份证号码/组织机构代码", "被执行人性质", "案号", "立案时间", "移除日期"]
    cpl = ["统一社会信用代码", "登记日期", "类别", "是否属实"]
    staff = ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期"]
    person = make_id(50)
    ingest(
        registered,
        settings,
        write_csv(tmp_path / "c1.csv", court, [["乙", B, "法人", "(2023)黑0102执1号", "2023-03-03", ""]]),
        write_csv(tmp_path / "p1.csv", cpl, [[A, "2024-01-01", "质量", "待核实"]]),
        write_csv(tmp_path / "s1.csv", staff, [[A, "钱", person, "董事", ""]]),
    )
    reports = ingest(
        registered,
        settings,
        write_csv(tmp_path / "c2.csv", court, [["乙", B, "法人", "（2023） 黑0102执1号", "2023-03-03", "2024-01-01"]]),
        write_csv(tmp_path / "p2.csv", cpl, [[A, "2024-01-01", "质量", "是"]]),
        write_csv(tmp_path / "s2.csv", staff, [[A, "钱", person, "董事", "2019-01-01"]]),
    )
    assert [(r.facts_new, r.facts_versioned) for r in reports] == [(0, 1)] * 3
    assert len(facts(registered, "court")) == len(facts(registered, "complaint")) == 1


def test_a_late_older_registration_export_does_not_overwrite_the_snapshot(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    newer, older = reg_rows()[0][:], reg_rows()[0][:]
    newer[10:12] = ["注销", "2024-05-06"]
    older[10:12] = ["存续", "2020-01-02"]
    ingest(engine, settings, write_csv(tmp_path / "new.csv", REG_HEADER, [newer]))
    ingest(engine, settings, write_csv(tmp_path / "old.csv", REG_HEADER, [older]))
    with engine.connect() as conn:
        status, approved = conn.exec_driver_sql("SELECT reg_status, approved_on FROM entity").one()
    assert (status, str(approved)) == ("注销", "2024-05-06")
    assert len(facts(engine, "registration")) == 2  # both registrations stay in the history


def test_requeue_lands_rows_that_registration_data_now_resolves(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ["乙", "230103000054321", "", "", "Q-1", "罚款", "", "1", "2024-03-01", "", "局"],  # old number, not yet known
        ["甲", "00000000000000000X", "", "", "Q-2", "罚款", "", "1", "2024-03-01", "", "局"],
    ]  # never resolvable
    ingest(engine, settings, write_csv(tmp_path / "pen.csv", PEN_V2, rows))
    assert [r.rows_accepted for r in requeue(engine, settings)] == [0]  # tried; no registration data yet
    ingest(engine, settings, write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()))
    report = requeue(engine, settings, actor="cli:analyst")[0]
    assert (report.rows_read, report.rows_accepted, report.facts_new) == (1, 1, 1)
    pen = facts(engine, "penalty").iloc[0]
    assert (pen["document_no"], pen["subject_uscc"], pen["flags"]) == (
        "Q-1",
        B,
        "resolved_from_reg_no,known_time_derived",
    )
    q = quarantine(engine).set_index("reason_code")
    assert q.loc["unknown_reg_no", "resolved_at"] is not None and pd.isna(q.loc["placeholder_code", "resolved_at"])
    assert requeue(engine, settings) == []  # idempotent
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT COUNT(*) FROM audit_log WHERE action = 'requeue'").scalar() == 2
        )  # one per attempt


def test_backfill_records_history_at_its_publication_time(
    registered: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History loaded late is recorded when it became public (event + lag), flagged as an
    assumption; a later correction is versioned at its real time; a plain ingest records now."""
    from datetime import date

    from credit_engine.records import record_as_of
    from tests.helpers import record_at

    rows = [["甲", A, "", "", "BF1", "罚款", "", "0.5", "2024-03-01", "", "道里分局"]]
    record_at(monkeypatch, "2026-06-01")
    ingest_paths([write_csv(tmp_path / "pen.csv", PEN_V2, rows)], registered, settings, backfill=True)
    pen = facts(registered, "penalty")
    assert str(pen.loc[0, "recorded_at"]).startswith("2024-03-11")  # 10 days after the decision
    assert "known_time_assumed" in pen.loc[0, "flags"]
    with registered.connect() as conn:
        assert [f.document_no for f in record_as_of(conn, A, date(2024, 3, 12)).facts if f.kind == "penalty"] == ["BF1"]
        assert not [f for f in record_as_of(conn, A, date(2024, 3, 10)).facts if f.kind == "penalty"]
    with registered.connect() as conn:
        audit = conn.exec_driver_sql(
            "SELECT detail_json FROM audit_log WHERE action = 'ingest' ORDER BY id DESC"
        ).first()
    assert json.loads(audit[0])["backfill_lag_days"]["penalty"] == 10

    record_at(monkeypatch, "2026-07-01")  # a corrected export: the new version is recorded now
    corrected = [["甲", A, "", "", "BF1", "罚款", "", "0.6", "2024-03-01", "", "道里分局"]]
    ingest_paths([write_csv(tmp_path / "pen2.csv", PEN_V2, corrected)], registered, settings, backfill=True)
    versions = facts(registered, "penalty", current=False)
    assert [str(v)[:10] for v in versions["recorded_at"]] == ["2024-03-11", "2026-07-01"]

    ingest_paths(
        [
            write_csv(
                tmp_path / "pen3.csv",
                PEN_V2,
                [["甲", A, "", "", "LIVE", "罚款", "", "0.5", "2024-05-01", "", "道里分局"]],
            )
        ],
        registered,
        settings,
    )
    live = facts(registered, "penalty").set_index("document_no").loc["LIVE"]
    assert str(live["recorded_at"]).startswith("2026-07-01") and "known_time_assumed" not in str(live["flags"])


def _stored(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Facts and quarantine rows as stored, without surrogate ids and wall-clock times."""
    with engine.connect() as conn:
        facts = pd.read_sql_query("SELECT * FROM fact ORDER BY fact_key, version", conn)
        rows = pd.read_sql_query("SELECT * FROM quarantine ORDER BY source_file_id, row_number", conn)
    return (
        facts.drop(columns=["id", "recorded_at", "superseded_at"]).reset_index(drop=True),
        rows.drop(columns=["id", "created_at"]).reset_index(drop=True),
    )


def test_a_province_read_in_many_small_chunks_lands_exactly_as_in_one(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Every kind, both encodings, JSONL, defects and malformed rows: chunk borders change nothing."""
    synthesise(tmp_path / "prov", 150, seed=3, as_of=date(2026, 6, 30))
    whole = ingest(engine, settings, tmp_path / "prov" / "sources")
    (tmp_path / "chunked").mkdir()
    with scratch_store(engine.dialect.name, tmp_path / "chunked") as chunked_store:
        chunked = ingest_paths(
            [tmp_path / "prov" / "sources"], chunked_store, settings.model_copy(update={"ingest_chunk_rows": 7})
        )
        summary = lambda reports: [
            (
                r.path.name,
                r.status,
                r.rows_read,
                r.rows_accepted,
                r.duplicates,
                r.quarantined,  # noqa: E731
                r.facts_new,
                r.facts_versioned,
            )
            for r in reports
        ]
        assert summary(chunked) == summary(whole)
        assert sum(r.rows_read for r in whole) > 20 * 7 and sum(r.rows_quarantined for r in whole) > 0
        for mine, theirs in zip(_stored(chunked_store), _stored(engine), strict=True):
            pd.testing.assert_frame_equal(mine, theirs)


def test_duplicates_and_malformed_rows_across_chunk_borders(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    ab = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]
    path = write_csv(
        tmp_path / "ab.csv", ab, [[A, "甲", "无法联系", "2022-07-01", ""], [B, "乙", "无法联系", "2024-07-01", ""]]
    )
    with path.open("a", encoding="utf-8") as fh:
        fh.write("only,three,fields\n")
        fh.write(f"{A},甲,无法联系,2022-07-01,\n")  # identical to row 1: counted once
        fh.write(f"{A},甲,无法联系,2022-07-01,2023-01-01\n")  # same key, other content: refused
    report = ingest_paths([path], engine, settings.model_copy(update={"ingest_chunk_rows": 1}))[0]
    assert (report.rows_read, report.rows_accepted, report.duplicates, report.facts_new) == (5, 3, 1, 2)
    q = quarantine(engine).set_index("row_number")
    assert q.loc[3, "reason_code"] == "malformed_row"
    assert (
        q.loc[5, "reason_code"] == "duplicate_key" and q.loc[5, "reason"] == "same fact as row 1 with different content"
    )
    assert len(q) == 2


def test_a_jsonl_key_first_seen_in_a_later_chunk_is_in_the_header(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "ab.jsonl"
    rows = [
        {"统一社会信用代码": A, "企业名称": "甲", "列入经营异常名录原因": "无法联系", "列入日期": "2022-07-01"},
        {
            "统一社会信用代码": B,
            "企业名称": "乙",
            "列入经营异常名录原因": "无法联系",
            "列入日期": "2024-07-01",
            "移出日期": "2025-01-01",
        },
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="gb18030")
    report = ingest_paths([path], engine, settings.model_copy(update={"ingest_chunk_rows": 1}))[0]
    assert (report.status, report.encoding, report.facts_new) == ("ingested", "gb18030", 2)
    ended = facts(engine, "abnormal").set_index("subject_uscc")["end_date"]
    assert pd.isna(ended[A]) and str(ended[B]) == "2025-01-01"

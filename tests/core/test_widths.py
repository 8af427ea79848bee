"""One value never fails a file, on PostgreSQL either; registration status is a closed vocabulary
(issue 39 items 7 and 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from credit_engine.ingest import ingest_paths
from credit_engine.sampling.ledger import CLOSED
from credit_engine.settings import Settings
from credit_engine.sources.registration import REG_STATUSES, status_key
from tests.helpers import REG_HEADER, A, B, C, make_uscc, write_csv

COURT = ["被执行人姓名/名称", "身份证号码/组织机构代码", "被执行人性质", "案号", "立案时间", "移除日期"]
PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
D, E = make_uscc(4), make_uscc(5)


def reg(code: str, status: str, industry: str = "C1310") -> list[str]:
    return [code, f"公司{code[-4:]}", "", "", "", "", "2016-01-01", industry, "", "", status, "", "", ""]


def stored(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(sql, conn)


def test_every_spelling_of_a_status_is_one_status_and_an_unknown_one_is_refused(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    report = ingest_paths(
        [
            write_csv(
                tmp_path / "reg.csv",
                REG_HEADER,
                [
                    reg(A, "存续（在营、开业、在册）"),  # 12 characters: varchar(8) failed the whole file on PostgreSQL
                    reg(B, "吊销，未注销"),  # revoked, not trading
                    reg(C, " 吊销未注销 "),
                    reg(D, "营业中"),  # no such status
                    reg(E, "注销"),
                ],
            )
        ],
        engine,
        settings,
    )[0]
    assert (report.status, report.rows_accepted) == ("ingested", 4)
    assert report.quarantined == {"unknown_reg_status": 1}
    entities = stored(engine, "SELECT uscc, reg_status FROM entity ORDER BY uscc").set_index("uscc")["reg_status"]
    assert entities.to_dict() == {A: "存续", B: "吊销", C: "吊销", E: "注销"}
    assert {"吊销", "注销"} <= set(CLOSED)  # revoked and cancelled entities leave the 双随机 frames
    facts = stored(engine, "SELECT subject_uscc, category, detail_json FROM fact WHERE kind = 'registration'")
    raw = {u: json.loads(d)["reg_status_raw"] for u, d in zip(facts["subject_uscc"], facts["detail_json"])}
    assert raw == {A: "存续（在营、开业、在册）", B: "吊销，未注销", C: "吊销未注销", E: None}  # the text as written
    assert dict(zip(facts["subject_uscc"], facts["category"]))[B] == "吊销"
    reason = stored(engine, "SELECT reason FROM quarantine")["reason"].iloc[0]
    assert "登记状态" in reason and "营业中" in reason


def test_the_vocabulary_folds_width_spaces_and_punctuation() -> None:
    assert REG_STATUSES[status_key("存续(在营、开业、在册)")] == "存续"
    assert REG_STATUSES[status_key("吊销, 未注销")] == "吊销"
    assert REG_STATUSES[status_key("吊销，已注销")] == "注销"
    assert status_key("营业中") not in REG_STATUSES


def test_a_value_too_long_for_its_column_refuses_only_its_row(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    reg_report = ingest_paths(
        [
            write_csv(
                tmp_path / "reg.csv",
                REG_HEADER,
                [
                    reg(A, "存续"),
                    reg(B, "存续", industry="C1310 谷物磨制（稻谷加工）"),
                ],
            )
        ],
        engine,
        settings,
    )[0]
    assert (reg_report.rows_accepted, reg_report.quarantined) == (1, {"value_too_long": 1})
    reason = stored(engine, "SELECT reason FROM quarantine")["reason"].iloc[0]
    assert reason.startswith("行业代码: ") and "more than the 8" in reason
    pen_report = ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    ["甲", A, "哈" * 300, "罚款", "1", "2024-03-01", "局"],
                    ["甲", A, "OK-1", "罚款", "1", "2024-03-01", "局"],
                ],
            )
        ],
        engine,
        settings,
    )[0]
    assert (pen_report.status, pen_report.rows_accepted, pen_report.quarantined) == (
        "ingested",
        1,
        {"value_too_long": 1},
    )
    court_report = ingest_paths(
        [
            write_csv(
                tmp_path / "court.csv",
                COURT,
                [
                    [
                        "张三",
                        "1234567890123456789012",
                        "自然人",
                        "（2024）执1号",
                        "2024-03-01",
                        "",
                    ],  # 22 characters masked
                    ["李四", "3301", "自然人", "（2024）执2号", "2024-03-01", ""],
                ],
            )
        ],
        engine,
        settings,
    )[0]
    assert court_report.status == "ingested" and court_report.quarantined["value_too_long"] == 1
    assert stored(engine, "SELECT COUNT(*) AS n FROM entity")["n"].iloc[0] == 1

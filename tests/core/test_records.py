"""The entity record as of a date: reconstruction across corrections, repairs, objections and expiry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credit_engine.ingest import ingest_paths
from credit_engine.records import OBJECTION_FLAG, Publicity, current_record, record_as_of, today_in_beijing
from credit_engine.settings import Settings
from credit_engine.store.repository import Store
from tests.helpers import REG_HEADER, REP_A, A, record_at, reg_rows, write_csv

PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
AB = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]


@pytest.fixture
def entity(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2024-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2024-03-05")
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    ["甲", A, "G-1", "罚款", "20", "2024-03-01", "局"],  # general: 3 years, then 1 year from 2025-12-25
                    ["甲", A, "W-1", "警告", "", "2024-03-01", "局"],  # warning only: never published
                    ["甲", A, "S-1", "罚款", "0.5", "2024-03-01", "局"],  # small fine: 3 months
                ],
            )
        ],
        engine,
        settings,
    )
    return engine


def status(engine: Engine, as_of: str) -> dict[str, tuple[Publicity, int]]:
    with engine.connect() as conn:
        record = record_as_of(conn, A, date.fromisoformat(as_of))
    return {f.document_no or f.kind: (f.publicity, f.version) for f in record.facts if f.kind == "penalty"}


def test_facts_appear_only_once_recorded(entity: Engine) -> None:
    assert status(entity, "2024-03-04") == {}  # decided on 03-01 but not known before 03-05
    assert status(entity, "2024-03-05")["G-1"] == (Publicity.PUBLISHED, 1)


def test_publicity_expiry_under_the_old_and_new_rule_sets(entity: Engine) -> None:
    # small fine: 3 months from publication (decision + 20 working days: 2024-03-29)
    assert status(entity, "2024-06-28")["S-1"][0] is Publicity.PUBLISHED
    assert status(entity, "2024-06-29")["S-1"][0] is Publicity.ENDED
    assert status(entity, "2024-06-29")["W-1"][0] is Publicity.NOT_PUBLISHED
    # a general penalty of 2024-03-01: 3 years under Order 45, at most 1 year under Order 107 (2025-12-25)
    assert status(entity, "2025-12-24")["G-1"][0] is Publicity.PUBLISHED
    assert status(entity, "2025-12-25")["G-1"][0] is Publicity.ENDED
    assert status(entity, "2026-04-01")["G-1"][0] is Publicity.ENDED
    with entity.connect() as conn:
        assert record_as_of(conn, A, date(2026, 3, 31)).rule_set_id == "cn-2025-12-25"
        assert record_as_of(conn, A, date(2026, 4, 1)).rule_set_id == "cn-2026-04-01"


def test_repair_and_objection_change_the_present_not_the_past(entity: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with entity.begin() as conn:
        store = Store(conn)
        store.supersede("penalty:G-1:" + A, record_at(monkeypatch, "2024-07-01"), flags=OBJECTION_FLAG)
        store.supersede("penalty:G-1:" + A, record_at(monkeypatch, "2024-07-05"), flags=None)
        store.supersede("penalty:G-1:" + A, record_at(monkeypatch, "2024-09-10"), status="repaired")
    with entity.connect() as conn:
        marked = {f.document_no: f for f in record_as_of(conn, A, date(2024, 7, 2)).facts}
        assert marked["G-1"].under_objection and marked["G-1"].publicity is Publicity.PUBLISHED
        assert record_as_of(conn, A, date(2024, 7, 2)).public_view()["records"][0]["under_objection"] is True
    assert status(entity, "2024-07-06")["G-1"] == (Publicity.PUBLISHED, 3)
    assert status(entity, "2024-09-09")["G-1"] == (Publicity.PUBLISHED, 3)
    assert status(entity, "2024-09-10")["G-1"] == (Publicity.REPAIRED, 4)


def test_a_corrected_export_is_seen_from_its_recording_on(
    entity: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2024-08-01")
    ingest_paths([write_csv(tmp_path / "ab1.csv", AB, [[A, "甲", "无法联系", "2024-07-20", ""]])], entity, settings)
    record_at(monkeypatch, "2025-02-01")
    ingest_paths(
        [write_csv(tmp_path / "ab2.csv", AB, [[A, "甲", "无法联系", "2024-07-20", "2025-01-10"]])], entity, settings
    )

    def listing(day: str):
        with entity.connect() as conn:
            return next(f for f in record_as_of(conn, A, date.fromisoformat(day)).facts if f.kind == "abnormal")

    assert listing("2025-01-20").publicity is Publicity.PUBLISHED  # the removal was not yet known
    assert listing("2025-02-01").publicity is Publicity.REMOVED and listing("2025-02-01").version == 2


def test_the_public_view_never_shows_internal_fields_or_identity_numbers(
    entity: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2024-08-01")
    tax = ["统一社会信用代码", "纳税人名称", "评价年度", "纳税信用等级", "评定日期"]
    ingest_paths([write_csv(tmp_path / "tax.csv", tax, [[A, "甲", "2023", "D", "2024-04-01"]])], entity, settings)
    with entity.connect() as conn:
        record = record_as_of(conn, A, date(2024, 8, 1))
    assert {f.kind for f in record.facts} >= {"tax", "role", "penalty", "registration"}
    public = json.dumps(record.public_view(), ensure_ascii=False)
    assert {r["kind"] for r in record.public_view()["records"]} == {"penalty", "role"}
    # W-1 is never published, S-1 (small fine) ended after 3 months: only G-1 is public
    assert {r["document_no"] for r in record.public_view()["records"] if r["kind"] == "penalty"} == {"G-1"}
    for secret in (REP_A, REP_A[:10] + "****" + REP_A[-4:], "person_key", "severity", "flags", "legal_rep_key", '"D"'):
        assert secret not in public


def test_the_current_record_is_the_record_as_of_today(entity: Engine) -> None:
    with entity.connect() as conn:
        now, today = current_record(conn, A), record_as_of(conn, A, today_in_beijing())
    assert now == today and now.rule_set_id == "cn-2026-04-01"
    assert {f.document_no for f in now.facts if f.kind == "penalty"} == {"G-1", "W-1", "S-1"}


def test_an_identity_number_in_a_decision_s_text_is_masked_in_the_public_view(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2024-03-05")
    text = f"当事人法定代表人（身份证号码{REP_A}）未经许可从事经营"
    ingest_paths(
        [write_csv(tmp_path / "pen.csv", [*PEN, "CF_SY"], [["甲", A, "G-2", "罚款", "20", "2024-03-01", "局", text]])],
        engine,
        settings,
    )
    with engine.connect() as conn:
        record = record_as_of(conn, A, date(2024, 3, 5))
    public = record.public_view()
    shown = [r["detail"]["facts_text"] for r in public["records"] if r["document_no"] == "G-2"]
    assert shown == [text.replace(REP_A, REP_A[:10] + "****" + REP_A[-4:])]
    assert REP_A not in json.dumps(public, ensure_ascii=False)

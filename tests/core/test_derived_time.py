"""Derived fact versions are dated by their inputs (issue 39 item 3): a store loaded with
``ingest --backfill`` and then linked answers a past date as a store that learned everything in
daily order, linking after each day."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

import credit_engine.linking
from credit_engine.ingest import ingest_paths, requeue
from credit_engine.linking import build, resolve_masked_debtors
from credit_engine.records import record_as_of
from credit_engine.settings import Settings
from tests.conftest import scratch_store
from tests.helpers import REG_HEADER, REP_A, B, reg_rows, write_csv

#: The listing ground that makes a court-listed legal representative a flag (Company Law Art.178(5)).
COURT = [
    "被执行人姓名/名称",
    "身份证号码/组织机构代码",
    "被执行人性质",
    "案号",
    "立案时间",
    "移除日期",
    "失信被执行人行为具体情形",
]
GROUND = "因所负数额较大债务到期未清偿"
PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]
MASKED = REP_A[:10] + "****" + REP_A[-4:]  # 张三, legal representative of A since 2020-01-02
PAST = date(2023, 6, 1)


def at(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    """Ingest and link run at noon (Beijing) on ``day``."""
    moment = datetime.combine(date.fromisoformat(day), time(4))
    monkeypatch.setattr(credit_engine.ingest, "now_utc", lambda: moment)
    monkeypatch.setattr(credit_engine.linking, "now_utc", lambda: moment)


def link_and_build(engine: Engine) -> list[tuple]:
    with engine.begin() as conn:
        resolve_masked_debtors(conn)
        build(conn, PAST)
        flags = conn.exec_driver_sql(
            "SELECT uscc, flag, basis, person_key, facts_json FROM link_flag ORDER BY uscc, flag"
        ).all()
    return [tuple(f) for f in flags]


def test_backfill_then_link_equals_daily_order_with_link_after_each_day(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())
    court = write_csv(
        tmp_path / "court.csv", COURT, [["张三", MASKED, "自然人", "（2023）执9号", "2023-05-05", "", GROUND]]
    )

    at(monkeypatch, "2020-01-02")  # daily order: each file on its day, linked after each day
    ingest_paths([reg], engine, settings)
    link_and_build(engine)
    at(monkeypatch, "2023-05-05")
    ingest_paths([court], engine, settings)
    daily = link_and_build(engine)
    assert [f[1] for f in daily] == ["court_listed_legal_representative"]

    (tmp_path / "bf").mkdir()
    with scratch_store(engine.dialect.name, tmp_path / "bf") as late:
        at(monkeypatch, "2026-06-01")  # the same history loaded in one go, years later
        ingest_paths(
            [reg, court], late, settings.model_copy(update={"archive_dir": tmp_path / "bf" / "archive"}), backfill=True
        )
        assert link_and_build(late) == daily
        with late.connect() as conn:
            versions = pd.read_sql_query(
                "SELECT version, person_key, flags, recorded_at, superseded_at FROM fact "
                "WHERE kind = 'court' ORDER BY version",
                conn,
            )
        assert versions["person_key"].isna().tolist() == [True, False]
        assert str(versions.loc[1, "recorded_at"]).startswith("2023-05-05")  # when the last input was known
        assert "known_time_derived" in versions.loc[1, "flags"]

        at(monkeypatch, "2026-07-01")  # a real correction later still wins from its own time on
        removed = write_csv(
            tmp_path / "court2.csv",
            COURT,
            [["张三", MASKED, "自然人", "（2023）执9号", "2023-05-05", "2026-06-20", GROUND]],
        )
        ingest_paths([removed], late, settings.model_copy(update={"archive_dir": tmp_path / "bf" / "archive"}))
        with late.connect() as conn:
            current = pd.read_sql_query(
                "SELECT version, end_date, recorded_at FROM fact WHERE kind = 'court' AND superseded_at IS NULL", conn
            ).iloc[0]
        assert current["version"] == 3 and str(current["recorded_at"]).startswith("2026-07-01")
        assert link_and_build(late) == daily  # the past is unchanged


def test_a_requeued_row_is_recorded_when_its_inputs_were_known(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, "2026-06-01")
    old_number = [["乙", "230103000054321", "Q-1", "罚款", "1", "2024-03-01", "局"]]  # B's old number, not yet known
    ingest_paths([write_csv(tmp_path / "pen.csv", PEN, old_number)], engine, settings, backfill=True)
    at(monkeypatch, "2026-06-05")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings, backfill=True)
    at(monkeypatch, "2026-06-10")
    assert [r.rows_accepted for r in requeue(engine, settings)] == [1]
    with engine.connect() as conn:
        pen = pd.read_sql_query("SELECT subject_uscc, flags, recorded_at FROM fact WHERE kind = 'penalty'", conn).iloc[
            0
        ]
        assert [f.document_no for f in record_as_of(conn, B, date(2024, 3, 12)).facts if f.kind == "penalty"] == ["Q-1"]
    # the penalty was public from 2024-03-11 (decision + 10 days); B registered since 2019-07-09
    assert (pen["subject_uscc"], str(pen["recorded_at"])[:10]) == (B, "2024-03-11")
    assert pen["flags"].split(",") == ["resolved_from_reg_no", "known_time_derived"]


def test_a_requeue_of_a_live_file_is_recorded_when_the_registration_arrived(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, "2026-06-01")
    old_number = [["乙", "230103000054321", "Q-1", "罚款", "1", "2026-05-20", "局"]]
    ingest_paths([write_csv(tmp_path / "pen.csv", PEN, old_number)], engine, settings)
    at(monkeypatch, "2026-06-05")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    at(monkeypatch, "2026-06-10")
    requeue(engine, settings)
    with engine.connect() as conn:
        recorded = conn.exec_driver_sql("SELECT recorded_at FROM fact WHERE kind = 'penalty'").scalar_one()
    assert str(recorded).startswith("2026-06-05 04:00")

"""The indicator system: the catalogue is the code, and nothing known later reaches a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pytest
from sqlalchemy import Engine

from credit_engine.features import (
    FEATURES,
    GROUPS,
    catalogue,
    feature_names,
    features_as_of,
    load_history,
)
from credit_engine.features.catalogue import schema
from credit_engine.ingest import ingest_paths
from credit_engine.scoring.training import month_ends, spine_dates, training_set
from credit_engine.settings import Settings
from credit_engine.store.repository import Store
from tests.core.test_ingest import PEN_V2
from tests.core.test_linking import COURT, DEBT
from tests.helpers import REG_HEADER, REP_A, A, B, C, record_at, reg_rows, write_csv

INSPECTION = [
    "统一社会信用代码",
    "企业名称",
    "抽查任务编号",
    "检查实施机关",
    "类型",
    "检查日期",
    "检查结果",
    "入选概率",
]


def penalty(doc: str, day: str, uscc: str = A) -> list[str]:
    return ["甲", uscc, "", "", doc, "罚款", "", "0.5", day, "", "道里分局"]


@pytest.fixture
def province(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2020-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2024-03-05")
    ingest_paths([write_csv(tmp_path / "p1.csv", PEN_V2, [penalty("P1", "2024-03-01")])], engine, settings)
    record_at(monkeypatch, "2024-08-01")  # the planted future fact: it happened in April, learned in August
    ingest_paths(
        [
            write_csv(tmp_path / "p2.csv", PEN_V2, [penalty("P2", "2024-04-01")]),
            write_csv(
                tmp_path / "court.csv",
                COURT,
                [["张三", REP_A, "自然人", "（2024）执1号", "2024-07-01", "2025-01-01", DEBT]],
            ),
            write_csv(
                tmp_path / "ins.csv",
                INSPECTION,
                [
                    [A, "甲", "T1", "道里分局", "双随机抽查", "2024-09-01", "未按规定公示应当公示的信息", "5%"],
                    [B, "乙", "T1", "南岗分局", "双随机抽查", "2024-09-02", "未发现问题", "0.05"],
                    [C, "丙", "T2", "香坊分局", "定向抽查", "2024-09-03", "未发现问题", ""],
                ],
            ),
        ],
        engine,
        settings,
    )
    return engine


def test_the_catalogue_is_generated_from_the_code() -> None:
    table = catalogue()
    assert list(table["name"]) == feature_names() and table["name"].is_unique
    assert set(table["group"]) == set(GROUPS)  # all five groups of RULES.md §1
    assert table["label_zh"].str.len().gt(0).all() and table["meaning"].str.len().gt(0).all()
    assert set(table["direction"]) <= {-1, 0, 1}


def test_the_schema_wants_every_feature_in_order_as_a_float_and_none_negative() -> None:
    names = feature_names()
    frame = pd.DataFrame([[1.0] * len(names), [np.nan] * len(names)], columns=names)
    pd.testing.assert_frame_equal(schema().validate(frame), frame)  # missing values pass
    frame.loc[1, names[3]] = -0.5
    with pytest.raises(pandera.errors.SchemaError, match="negative") as refused:
        schema().validate(frame)
    assert list(refused.value.check_output[~refused.value.check_output].index) == [names[3]]
    for wrong in (frame.drop(columns=names[0]), frame[names[::-1]], frame.assign(extra=1.0)):
        with pytest.raises(pandera.errors.SchemaError, match="the columns must be the features, in order"):
            schema().validate(wrong)
    with pytest.raises(pandera.errors.SchemaError, match="float64"):
        schema().validate(frame.fillna(0).astype({names[0]: int}))


def test_no_feature_uses_anything_recorded_after_its_date(province: Engine) -> None:
    with province.connect() as conn:
        history = load_history(conn, date(2024, 6, 30), date(2024, 8, 31))
    before, after = features_as_of(history, date(2024, 6, 30)), features_as_of(history, date(2024, 8, 1))
    assert list(before.columns) == feature_names()
    assert before.loc[A, "penalties_3y"] == 1  # P2 (April) was recorded in August: invisible in June
    assert after.loc[A, "penalties_3y"] == 2
    assert before.loc[A, "legal_rep_court_listed"] == 0 and after.loc[A, "legal_rep_court_listed"] == 1
    assert before.loc[A, "months_since_penalty"] == pytest.approx(4.0, abs=0.1)  # from P1, not P2


def test_listings_end_and_counts_stay_in_their_windows(province: Engine) -> None:
    with province.connect() as conn:
        history = load_history(conn, date(2024, 8, 1), date(2027, 3, 15))
    listed, removed = features_as_of(history, date(2024, 12, 31)), features_as_of(history, date(2025, 1, 1))
    assert listed.loc[A, "legal_rep_court_listed"] == 1 and removed.loc[A, "legal_rep_court_listed"] == 0
    later = features_as_of(history, date(2027, 3, 15))
    assert later.loc[A, "penalties_3y"] == 1 and later.loc[A, "penalties_1y"] == 0  # P1 left the 3-year window
    assert removed.loc[A, "age_years"] == pytest.approx(9.48, abs=0.01)  # established 2015-07-10
    with pytest.raises(ValueError, match="outside the loaded history"):
        features_as_of(history, date(2024, 1, 1))


def test_training_rows_label_the_next_12_months_and_weight_by_inclusion(province: Engine) -> None:
    with province.connect() as conn:
        history = load_history(conn, date(2024, 1, 31), date(2025, 8, 31))
    rows = training_set(history, month_ends(date(2024, 1, 1), date(2024, 8, 31)))
    june = rows.where(rows.as_of == np.datetime64("2024-06-30"))
    labels = dict(zip(june.X.index, june.y))
    assert labels == {A: 1, B: 0, C: 0}  # each inspected in September, within the window
    assert dict(zip(june.X.index, june.weight)) == {A: pytest.approx(20.0), B: pytest.approx(20.0), C: 1.0}
    assert june.X.loc[A, "penalties_3y"] == 1  # still what was known in June
    september = rows.where(rows.as_of == np.datetime64("2024-08-31"))
    assert len(september) == 3
    with pytest.raises(ValueError, match="need history until"):
        training_set(history, [date(2024, 12, 31)])


def test_training_labels_are_the_inspection_results_known_when_the_labels_close(province: Engine) -> None:
    """A correction recorded after the labels close is not yet known: the version it replaced
    still labels (it used to be dropped with its entity's label); one recorded before counts."""
    with province.begin() as conn:
        store = Store(conn)
        for uscc, category, recorded in (
            (A, "ok", datetime(2025, 10, 1, tzinfo=UTC)),
            (B, "problem", datetime(2025, 6, 1, tzinfo=UTC)),
        ):
            key = conn.exec_driver_sql(
                f"SELECT fact_key FROM fact WHERE kind = 'inspection' AND subject_uscc = '{uscc}'"
                " AND superseded_at IS NULL"
            ).scalar_one()
            store.supersede(key, recorded, category=category)
        history = load_history(conn, date(2024, 1, 31), date(2025, 8, 31))
    june = training_set(history, [date(2024, 6, 30)])
    assert dict(zip(june.X.index, june.y)) == {A: 1, B: 1, C: 0}


def test_spine_dates_leave_room_for_the_label_window() -> None:
    dates = spine_dates(date(2026, 6, 30), 6)
    assert dates == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
    ]
    assert len(FEATURES) >= 30


#: The indicators of issue 36: rates, decayed results, trends, grade means, the people's history.
NEW = [
    "penalties_per_year",
    "log_fine_per_penalty",
    "inspections_per_year",
    "inspection_problem_rate",
    "inspections_weighted",
    "inspection_problems_trend",
    "tax_grade_mean",
    "complaints_per_year",
    "complaints_substantiated_rate",
    "commitments_broken_rate",
    "persons_court_5y",
    "related_court_5y",
    "related_tax_grade_mean",
]


@pytest.fixture
def planted(province: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Beside ``province``: 张三 (A's legal representative) has been B's supervisor since 2020; in
    August 2024 the store learns of things that happened in spring (B's and A's tax grades, a
    complaint, a broken commitment, a large fine, an inspection that found a problem where the one
    of 2020 found none)."""
    from tests.core.test_linking import STAFF

    record_at(monkeypatch, "2020-06-01")
    ingest_paths(
        [
            write_csv(tmp_path / "staff.csv", STAFF, [[B, "张三", REP_A, "监事", "2020-01-01", ""]]),
            write_csv(
                tmp_path / "ins0.csv",
                INSPECTION,
                [[A, "甲", "T", "道里分局", "双随机抽查", "2020-05-01", "未发现问题", "0.1"]],
            ),
        ],
        province,
        settings,
    )
    record_at(monkeypatch, "2024-08-01")
    ingest_paths(
        [
            write_csv(
                tmp_path / "tax.csv",
                ["统一社会信用代码", "纳税人名称", "评价年度", "纳税信用等级", "评定日期"],
                [[A, "甲", "2023", "C", "2024-04-10"], [B, "乙", "2023", "D", "2024-04-12"]],
            ),
            write_csv(
                tmp_path / "complaints.csv",
                ["统一社会信用代码", "登记日期", "类别", "是否属实"],
                [[A, "2024-04-01", "质量", "是"]],
            ),
            write_csv(
                tmp_path / "commit.csv",
                ["统一社会信用代码", "承诺类型", "承诺日期", "履约状态", "核查日期"],
                [[A, "主动承诺", "2024-03-01", "未履约", "2024-04-20"]],
            ),
            write_csv(
                tmp_path / "p3.csv", PEN_V2, [["甲", A, "", "", "P3", "罚款", "", "20", "2024-05-01", "", "道里分局"]]
            ),
            write_csv(
                tmp_path / "ins2.csv",
                INSPECTION,
                [[A, "甲", "T0", "道里分局", "双随机抽查", "2024-04-15", "未按规定公示应当公示的信息", "0.1"]],
            ),
        ],
        province,
        settings,
    )
    return province


def test_the_new_indicators_use_nothing_recorded_after_their_date(planted: Engine) -> None:
    with planted.connect() as conn:
        known_then = load_history(conn, date(2024, 6, 30), date(2024, 6, 30))
        later = load_history(conn, date(2024, 6, 30), date(2024, 8, 31))
        one = load_history(conn, date(2024, 6, 30), date(2024, 8, 31), usccs=[A])
    before = features_as_of(later, date(2024, 6, 30))
    # every indicator of June from a history that also holds August's facts is June's own
    pd.testing.assert_frame_equal(before, features_as_of(known_then, date(2024, 6, 30)))
    after = features_as_of(later, date(2024, 8, 1))
    assert set(NEW) <= set(feature_names())
    changed = [name for name in NEW if not np.isclose(before.loc[A, name], after.loc[A, name], equal_nan=True)]
    # each planted fact moved its indicators, and only once known; the rest have no planted fact
    assert changed == [
        "penalties_per_year",
        "log_fine_per_penalty",
        "inspections_per_year",
        "inspection_problem_rate",
        "inspections_weighted",
        "inspection_problems_trend",
        "tax_grade_mean",
        "complaints_per_year",
        "complaints_substantiated_rate",
        "commitments_broken_rate",
        "persons_court_5y",
        "related_tax_grade_mean",
    ]
    assert np.isnan(before.loc[A, "tax_grade_mean"]) and after.loc[A, "tax_grade_mean"] == 3.0
    assert np.isnan(before.loc[A, "related_tax_grade_mean"]) and after.loc[A, "related_tax_grade_mean"] == 4.0  # B's D
    assert before.loc[A, "persons_court_5y"] == 0 and after.loc[A, "persons_court_5y"] == 1
    assert after.loc[A, "commitments_broken_rate"] == 1.0 and after.loc[A, "complaints_substantiated_rate"] == 1.0
    assert before.loc[A, "inspection_problem_rate"] == 0.0 and 0.5 < after.loc[A, "inspection_problem_rate"] < 1.0
    assert before.loc[A, "inspection_problems_trend"] == 1.0 and after.loc[A, "inspection_problems_trend"] == 2.0
    # a single re-grade's neighbourhood reaches B's grades too
    pd.testing.assert_series_equal(features_as_of(one, date(2024, 8, 1)).loc[A], after.loc[A])

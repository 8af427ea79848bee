"""Linking persons and enterprises as of a date, and the flags dishonesty raises along the links."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from credit_engine.ingest import ingest_paths
from credit_engine.linking import key_person_court_flags, masked_digits_agree, resolve_masked_debtors, roles_as_of
from credit_engine.settings import Settings
from tests.helpers import A, B, C, REG_HEADER, REP_A, make_id, record_at, reg_rows, write_csv

COURT = ["被执行人姓名/名称", "身份证号码/组织机构代码", "被执行人性质", "案号", "立案时间", "移除日期"]
STAFF = ["统一社会信用代码", "姓名", "证件号码", "职务", "任职起始日期", "任职终止日期"]
WANG_1, WANG_2 = make_id(61, birth="19950101"), make_id(62, birth="19950101")


@pytest.fixture
def graph(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2018-06-01")  # known before every date the tests ask about
    ingest_paths([
        write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
        write_csv(tmp_path / "staff.csv", STAFF, [
            [B, "王五", WANG_1, "监事", "2019-01-01", ""],
            [C, "王五", WANG_2, "董事", "2019-01-01", "2022-06-30"],
        ]),
        write_csv(tmp_path / "court.csv", COURT, [
            ["张三", REP_A, "自然人", "（2023）执1号", "2023-04-04", "2024-01-01"],
            ["张三", REP_A[:10] + "****" + REP_A[-4:], "自然人", "（2023）执2号", "2023-05-05", ""],
            ["王五", WANG_1[:12] + "******", "自然人", "（2023）执3号", "2023-05-05", ""],
        ]),
    ], engine, settings)
    return engine


def test_roles_follow_their_periods(graph: Engine) -> None:
    with graph.connect() as conn:
        on_2022_01 = roles_as_of(conn, date(2022, 1, 1))
        on_2022_07 = roles_as_of(conn, date(2022, 7, 1))
    wang_2 = on_2022_01["role"].eq("director") & on_2022_01["uscc"].eq(C)
    assert wang_2.sum() == 1
    assert not (on_2022_07["role"].eq("director") & on_2022_07["uscc"].eq(C)).any()  # ended 2022-06-30


def test_a_masked_id_links_only_on_a_single_exact_match(graph: Engine) -> None:
    with graph.begin() as conn:
        assert resolve_masked_debtors(conn) == {"linked": 1, "ambiguous": 1}
        rows = dict(conn.exec_driver_sql(
            "SELECT document_no, COALESCE(person_key, '') || '|' || COALESCE(flags, '') FROM fact "
            "WHERE kind = 'court' AND superseded_at IS NULL").all())
    full = rows["（2023）执1号"].split("|")[0]
    assert rows["（2023）执2号"] == f"{full}|person_resolved_from_masked"  # 张三: name and 14 digits agree
    assert rows["（2023）执3号"] == "|person_ambiguous"  # two 王五 share the 12 visible digits: never guessed
    with graph.begin() as conn:
        assert resolve_masked_debtors(conn) == {"linked": 0, "ambiguous": 0}  # idempotent


def test_a_court_listed_legal_representative_flags_the_enterprise_until_the_listing_ends(graph: Engine) -> None:
    with graph.connect() as conn:
        before = key_person_court_flags(conn, date(2023, 4, 3))
        during = key_person_court_flags(conn, date(2023, 6, 1))
        after = key_person_court_flags(conn, date(2024, 1, 1))
    assert before == [] and after == []
    assert [(f.uscc, f.flag) for f in during] == [(A, "court_listed_legal_representative")]
    assert "（2023）执1号" in during[0].basis and "第十二条" in during[0].basis
    assert any(key.startswith("court:") for key in during[0].facts) and any(key.startswith("role:") for key in during[0].facts)


@pytest.mark.parametrize(("masked", "other", "shared"), [
    ("230102199501******", "2301021995****0306", 10),
    ("2301021995****0306", "2301021995****0306", 14),
    ("2301021995****0307", "2301021995****0306", -1),
    ("230102", "2301021995****0306", -1),
])
def test_masked_forms_compare_only_where_both_show_a_digit(masked: str, other: str, shared: int) -> None:
    assert masked_digits_agree(masked, other) == shared

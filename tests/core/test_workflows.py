"""Credit repair, objections and the publicity sweep by the published rules (RULES.md §3, §4)."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

import credit_engine.ingest
from credit_engine import linking
from credit_engine.ingest import ingest_paths
from credit_engine.records import Publicity, fact_ref, record_as_of, today_in_beijing
from credit_engine.settings import Settings
from credit_engine.store.repository import now_utc
from credit_engine.workflows import (
    CaseConflict,
    InvalidRequest,
    get_case,
    list_cases,
    objection,
    overdue_counts,
    repair,
)
from credit_engine.workflows import sweep as publicity
from credit_engine.workflows.cases import deadline
from credit_engine.workflows.repair import Evidence, RepairApplication
from tests.helpers import REG_HEADER, A, B, C, make_uscc, record_at, reg_rows, write_csv

PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG", "CF_WFXW"]
AB = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]
PAID = (Evidence("fine_paid", "罚款缴纳凭证 2026-06-01"),)


@pytest.fixture
def store(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2021-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2022-01-20")
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    ["甲", A, "G-2026", "罚款", "20", "2026-05-01", "局", "价格违法"],  # general (200 000 yuan)
                    ["甲", A, "G-2022", "罚款", "20", "2022-01-10", "局", "价格违法"],  # general, under the 2021 rules
                    [
                        "甲",
                        A,
                        "F-2022",
                        "罚款",
                        "20",
                        "2022-01-10",
                        "局",
                        "食品安全违法",
                    ],  # general, food: 1 year in 2021
                    ["甲", A, "R-2026", "吊销营业执照", "", "2026-05-01", "局", "无照经营"],  # never repairable early
                    [
                        "甲",
                        A,
                        "E-2025",
                        "罚款",
                        "20",
                        "2025-10-01",
                        "局",
                        "价格违法",
                    ],  # eligible at the Spring Festival
                    ["甲", A, "M-2026", "通报批评", "", "2026-01-10", "局", "广告违法"],  # minor: 3 months
                    ["甲", A, "S-2026", "责令停产停业", "", "2023-01-10", "局", "安全生产"],  # serious: 3 years
                ],
            )
        ],
        engine,
        settings,
    )
    # on the abnormal list from 2026-03-02 to 2026-06-01: no penalty repair meanwhile (Order 45 Art.14)
    ingest_paths(
        [
            write_csv(
                tmp_path / "ab.csv", AB, [[A, "甲", "通过登记的住所或者经营场所无法联系的", "2026-03-02", "2026-06-01"]]
            )
        ],
        engine,
        settings,
    )
    return engine


def application(doc: str, **changes) -> RepairApplication:
    values = {
        "uscc": A,
        "fact": f"penalty:{doc}:{A}",
        "applicant": "哈尔滨甲商贸有限公司",
        "obligations_performed": True,
        "commitment_signed": True,
        "evidence": PAID,
    }
    return RepairApplication(**(values | changes))


def apply(engine: Engine, app: RepairApplication, on: str):
    with engine.begin() as conn:
        return repair.apply(conn, app, date.fromisoformat(on))


def test_general_penalty_under_the_2026_rules_needs_three_months(store: Engine) -> None:
    early = apply(store, application("G-2026"), "2026-07-01")  # 2 months after the decision
    assert early.status == "refused" and early.earliest_on == date(2026, 8, 1) and early.deadline is None
    assert early.rule_set_id == "cn-2026-04-01"
    assert any("minimum publicity period not reached" in r for r in early.assessment["reasons"])
    later = apply(store, application("G-2026"), "2026-09-01")  # 4 months
    assert later.status == "pending" and later.earliest_on is None
    assert later.deadline == date(2026, 9, 10)  # 7 working days: 09-02 .. 09-10


def test_the_2021_rules_need_six_months_and_a_year_in_key_areas(store: Engine) -> None:
    # counted from publication: decided 2022-01-10, published by 2022-02-10 (20 working days, Spring Festival)
    assert apply(store, application("G-2022"), "2022-05-10").earliest_on == date(2022, 8, 10)
    ok = apply(store, application("G-2022"), "2022-08-11")
    assert ok.status == "pending" and ok.rule_set_id == "cn-2021-09-01"
    assert ok.deadline == date(2022, 9, 1)  # 15 working days
    food = apply(store, application("F-2022"), "2022-09-01")
    assert food.status == "refused" and food.earliest_on == date(2023, 2, 10)


def test_a_revoked_licence_is_never_repairable_early(store: Engine) -> None:
    case = apply(store, application("R-2026"), "2026-11-20")
    assert case.status == "refused" and case.earliest_on is None
    assert any("never repairable early: 吊销营业执照" in r for r in case.assessment["reasons"])


def test_every_missing_condition_is_a_reason(store: Engine) -> None:
    case = apply(
        store, application("G-2026", obligations_performed=False, commitment_signed=False, evidence=()), "2026-07-01"
    )
    assert len(case.assessment["reasons"]) == 4  # period, obligations, evidence, commitment
    assert case.earliest_on == date(2026, 8, 1)


def test_abnormal_list_repair_by_its_grounds(store: Engine) -> None:
    case = apply(
        store,
        RepairApplication(
            A, f"abnormal:{A}:2026-03-02", "甲", True, True, (Evidence("address_reachable", "住所可以重新取得联系"),)
        ),
        "2026-04-01",
    )
    assert case.status == "pending"
    assert "无法联系" not in case.assessment["checks"][0]["detail"] and "住所" in case.assessment["checks"][0]["detail"]


def test_deadlines_count_the_spring_festival_and_make_up_days(store: Engine) -> None:
    case = apply(store, application("E-2025"), "2026-02-12")  # 7 working days under cn-2025-12-25
    # Fri 13, Sat 14 (make-up), holiday 15-23, Tue 24, Wed 25, Thu 26, Fri 27, Sat 28 (make-up)
    assert case.rule_set_id == "cn-2025-12-25" and case.deadline == date(2026, 2, 28)
    with store.begin() as conn:
        filed = objection.file(
            conn, objection.Objection(A, f"penalty:E-2025:{A}", "error", "金额有误", "张三"), date(2026, 2, 12)
        )
    assert filed.deadline == date(2026, 2, 26)  # 5 working days


def test_a_deadline_beyond_the_calendar_is_provisional_and_says_so() -> None:
    due = deadline(date(2026, 12, 28), 7)
    assert due.provisional and "chinese-calendar" in due.note
    assert due.day == date(2027, 1, 6)  # Mon-Fri counting, the earlier (safe) side of any holiday


def test_duplicate_pending_application_is_refused(store: Engine) -> None:
    first = apply(store, application("G-2026"), "2026-09-01")
    with pytest.raises(CaseConflict, match=first.ticket):
        apply(store, application("G-2026"), "2026-09-02")


def test_approval_stops_publicity_keeps_the_record_and_ends_flags(store: Engine) -> None:
    case = apply(store, application("G-2026"), "2026-09-01")
    key = f"penalty:G-2026:{A}"
    with store.begin() as conn:  # a joint-punishment flag caused by the penalty
        conn.execute(
            text(
                "INSERT INTO link_flag (as_of, uscc, flag, basis, person_key, facts_json, built_at) "
                "VALUES (:d, :u, 'related_enterprise_dishonest', 'test', NULL, :f, :t)"
            ),
            {"d": date(2026, 9, 1), "u": A, "f": f'["{key}"]', "t": "2026-09-01 00:00:00"},
        )
    with store.connect() as conn:
        assert [f["flag"] for f in linking.flags_of(conn, A, date(2026, 9, 1))] == ["related_enterprise_dishonest"]
    with store.begin() as conn:
        decision = repair.decide(conn, case.ticket, True, ["罚款已缴纳，已整改"], "key:1:officer", champion=None)
    assert decision.case.outcome == "approved" and decision.grade is None
    with store.connect() as conn:
        today = today_in_beijing()
        facts = {f.fact_key: f for f in record_as_of(conn, A, today).facts}
        assert facts[key].publicity is Publicity.REPAIRED
        assert facts[key].detail["repair"]["ticket"] == case.ticket  # kept internally with its history
        assert fact_ref(key) not in {r["ref"] for r in record_as_of(conn, A, today).public_view()["records"]}
        assert linking.flags_of(conn, A, today) == []
        audit = conn.execute(
            text("SELECT action, actor FROM audit_log WHERE target = :t ORDER BY id"), {"t": case.ticket}
        ).all()
    assert [tuple(a) for a in audit] == [("repair_filed", "public"), ("repair_decided", "key:1:officer")]


def test_a_changed_source_row_keeps_the_repair_and_the_objection_mark(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    case = apply(store, application("G-2026"), "2026-09-01")
    with store.begin() as conn:
        repair.decide(conn, case.ticket, True, ["罚款已缴纳，已整改"], "key:1:officer", champion=None)
    file_objection(store, "E-2025")
    monkeypatch.setattr(credit_engine.ingest, "now_utc", now_utc)  # the export arrives after the decisions
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen2.csv",
                PEN,
                [
                    ["甲", A, "G-2026", "罚款", "21", "2026-05-01", "局", "价格违法"],  # amount corrected at the source
                    ["甲", A, "E-2025", "罚款", "21", "2025-10-01", "局", "价格违法"],
                ],
            )
        ],
        store,
        settings,
    )
    with store.connect() as conn:
        facts = {f.document_no: f for f in record_as_of(conn, A, today_in_beijing()).facts}
    assert facts["G-2026"].version == 3 and facts["G-2026"].amount_yuan == 210_000
    assert facts["G-2026"].publicity is Publicity.REPAIRED and facts["G-2026"].detail["repair"]["ticket"] == case.ticket
    assert facts["E-2025"].version == 3 and facts["E-2025"].under_objection  # still marked until decided


def test_a_closed_case_refuses_another_decision(store: Engine) -> None:
    case = apply(store, application("G-2026"), "2026-09-01")
    with store.begin() as conn:
        repair.decide(conn, case.ticket, False, ["证据不足"], "key:1:a", champion=None)
    with store.begin() as conn, pytest.raises(CaseConflict, match="closed"):
        repair.decide(conn, case.ticket, True, ["再议"], "key:2:b", champion=None)
    with store.connect() as conn:
        assert get_case(conn, case.ticket).outcome == "rejected"


def test_two_regulators_deciding_at_once_one_lands(store: Engine) -> None:
    case = apply(store, application("G-2026"), "2026-09-01")
    barrier, results = threading.Barrier(2), {}

    def decide(name: str, approve: bool) -> None:
        barrier.wait()
        try:
            with store.begin() as conn:
                repair.decide(conn, case.ticket, approve, [f"decided by {name}"], name, champion=None)
                time.sleep(0.3)  # hold the decision open while the other one tries
            results[name] = "landed"
        except CaseConflict as exc:
            results[name] = str(exc)

    threads = [threading.Thread(target=decide, args=(n, n == "a")) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(v == "landed" for v in results.values()) == [False, True]
    with store.connect() as conn:
        final = get_case(conn, case.ticket)
        winner = next(n for n, v in results.items() if v == "landed")
        assert final.decided_by == winner and final.revision == 2
        versions = conn.execute(
            text("SELECT COUNT(*) FROM fact WHERE fact_key = :k"), {"k": f"penalty:G-2026:{A}"}
        ).scalar()
        decided = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'repair_decided'")).scalar()
    assert decided == 1 and versions == (2 if winner == "a" else 1)


def file_objection(engine: Engine, doc: str = "G-2026", on: str = "2026-07-01") -> str:
    with engine.begin() as conn:
        return objection.file(
            conn,
            objection.Objection(
                A,
                fact_ref(f"penalty:{doc}:{A}"),
                "error",
                "罚款金额有误",
                "哈尔滨甲商贸有限公司",
                contact="0451-1234567",
            ),
            date.fromisoformat(on),
        ).ticket


def public_record(engine: Engine, doc: str = "G-2026", on: date | None = None) -> dict | None:
    with engine.connect() as conn:
        view = record_as_of(conn, A, on or today_in_beijing()).public_view()
    return next((r for r in view["records"] if r["document_no"] == doc), None)


def test_an_objection_marks_the_record_at_once(store: Engine) -> None:
    before = public_record(store)
    assert before and before["under_objection"] is False
    file_objection(store)
    assert public_record(store)["under_objection"] is True


@pytest.mark.parametrize(
    "outcome, correction, shown, kept",
    [
        ("corrected", {"amount_yuan": 50000.0, "document_no": "G-2026"}, True, False),
        ("removed", None, False, False),
        ("upheld", None, True, False),
        ("undetermined", None, True, True),
    ],
)
def test_each_objection_outcome(store: Engine, outcome: str, correction: dict | None, shown: bool, kept: bool) -> None:
    ticket = file_objection(store)
    original = public_record(store)
    with store.begin() as conn:
        decision = objection.decide(
            conn, ticket, outcome, ["核实结果"], "key:1:officer", champion=None, correction=correction
        )
    assert decision.case.outcome == outcome
    after = public_record(store)
    assert (after is not None) is shown
    if after:
        assert after["under_objection"] is False and after["objection_recorded"] is kept
        assert after["amount_yuan"] == (50000.0 if correction else original["amount_yuan"])
    # the earlier state stays reconstructible
    assert public_record(store, on=date(2026, 6, 1))["amount_yuan"] == original["amount_yuan"]


def test_objection_limits_extend_up_to_twenty_working_days(store: Engine) -> None:
    ticket = file_objection(store, on="2026-03-02")
    with store.begin() as conn:
        case = objection.extend(conn, ticket, 10, "需商请原处罚机关核实", "key:1:officer")
        assert case.limit_working_days == 15 and case.extensions[0]["reason"] == "需商请原处罚机关核实"
        case = objection.extend(conn, ticket, 5, "仍在核实", "key:1:officer")
        assert case.limit_working_days == 20 and case.deadline == date(2026, 3, 30)
    with store.begin() as conn, pytest.raises(InvalidRequest, match="20 at most|allow 20"):
        objection.extend(conn, ticket, 1, "再延", "key:1:officer")


def test_overdue_cases_are_listed_and_counted(store: Engine) -> None:
    late = file_objection(store, on="2026-03-02")  # due 2026-03-09
    apply(store, application("G-2026"), "2026-09-01")  # due 2026-09-10
    with store.connect() as conn:
        total, overdue = list_cases(conn, overdue_on=date(2026, 3, 10))
        assert total == 1 and overdue[0].ticket == late
        assert overdue_counts(conn, date(2026, 9, 11)) == {"repair": 1, "objection": 1}
        assert overdue_counts(conn, date(2026, 3, 9)) == {"repair": 0, "objection": 0}


def test_an_objection_needs_a_published_record_and_a_known_ground(store: Engine) -> None:
    with store.begin() as conn, pytest.raises(InvalidRequest, match="unknown ground"):
        objection.file(conn, objection.Objection(A, f"penalty:G-2026:{A}", "dislike", "x", "y"), date(2026, 7, 1))
    with store.begin() as conn, pytest.raises(InvalidRequest, match="not published"):
        objection.file(conn, objection.Objection(A, f"penalty:M-2026:{A}", "error", "x", "y"), date(2026, 7, 1))
    with store.begin() as conn, pytest.raises(InvalidRequest, match="has no fact"):
        objection.file(conn, objection.Objection(A, "nope", "error", "x", "y"), date(2026, 7, 1))


def test_publicity_ends_by_itself_at_three_months_one_year_three_years(store: Engine) -> None:
    def published(on: str) -> set[str]:
        with store.connect() as conn:
            return {
                f.document_no
                for f in record_as_of(conn, A, date.fromisoformat(on)).facts
                if f.kind == "penalty" and f.publicity is Publicity.PUBLISHED
            }

    assert "M-2026" in published("2026-04-09")
    assert "M-2026" not in published("2026-04-10")  # minor, 2026-01-10 + 3 months
    assert "G-2026" in published("2027-04-30") and "G-2026" not in published("2027-05-01")  # general: 1 year
    # serious: 3 years from publication under Order 107 (decided 2023-01-10, published by 2023-02-10)
    assert "S-2026" in published("2026-02-09") and "S-2026" not in published("2026-02-10")

    report = publicity.sweep(store, date(2026, 4, 10))
    assert report.rule_set_id == "cn-2026-04-01"
    # M-2026 (3 months), S-2026 (3 years, 2023-01-10), G-2022, F-2022 (decided 2022: past 1 year under the new set)
    assert report.ended == {"penalty": 4, "serious": 0}
    assert publicity.sweep(store, date(2026, 4, 10)).ended == {"penalty": 0, "serious": 0}  # idempotent
    with store.connect() as conn:
        swept = {f.document_no: f for f in record_as_of(conn, A, today_in_beijing()).facts}
        assert swept["M-2026"].publicity is Publicity.ENDED and "publicity sweep" in swept["M-2026"].basis
        assert swept["M-2026"].publicity_end == date(2026, 4, 10)
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE action = 'publicity_sweep'")).scalar() == 2


def test_the_sweep_leaves_a_removed_listing_removed(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2021-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2022-06-01")
    header = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    ingest_paths(
        [write_csv(tmp_path / "se.csv", header, [[A, "甲", "提交虚假材料", "2019-03-01", "2020-05-06"]])],
        engine,
        settings,
    )
    # three years of publicity ended on 2022-03-01, but the entry had been removed on 2020-05-06 already
    assert publicity.sweep(engine, date(2026, 4, 10)).ended == {"penalty": 0, "serious": 0}
    with engine.connect() as conn:
        [listing] = [f for f in record_as_of(conn, A, today_in_beijing()).facts if f.kind == "serious"]
    assert listing.publicity is Publicity.REMOVED and "2020-05-06" in listing.basis


def test_a_correction_retiers_the_penalty(store: Engine) -> None:
    ticket = file_objection(store)
    with store.begin() as conn:
        objection.decide(
            conn,
            ticket,
            "corrected",
            ["罚款金额应为2000元"],
            "key:1:officer",
            champion=None,
            correction={"amount_yuan": 2000.0},
        )
    with store.connect() as conn:
        fact = {f.document_no: f for f in record_as_of(conn, A, date(2026, 7, 31)).facts}["G-2026"]
    # recorded today, so 2026-07-31 still shows the general penalty; today the small fine has ended
    assert fact.severity == "general" and fact.publicity is Publicity.PUBLISHED
    with store.connect() as conn:
        fact = {f.document_no: f for f in record_as_of(conn, A, today_in_beijing()).facts}["G-2026"]
    assert fact.severity == "minor" and fact.publicity is Publicity.ENDED and fact.amount_yuan == 2000.0


def test_a_penalty_restricting_for_five_years_is_published_five_years(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_at(monkeypatch, "2020-01-01")
    header = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_JDRQ", "CF_YXQ", "CF_CFJG"]
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
            write_csv(tmp_path / "pen.csv", header, [["甲", A, "R-5", "限制从业", "2021-03-01", "2026-03-01", "局"]]),
        ],
        engine,
        settings,
    )
    # the tier's 3 years ended on 2024-03-01; the five-year restriction runs to 2026-03-01
    assert publicity.sweep(engine, date(2025, 6, 1)).ended == {"penalty": 0, "serious": 0}
    with engine.connect() as conn:
        [fact] = [f for f in record_as_of(conn, A, date(2025, 6, 1)).facts if f.document_no == "R-5"]
    assert fact.publicity is Publicity.PUBLISHED and "end of its restriction" in fact.basis
    assert publicity.sweep(engine, date(2026, 3, 1)).ended == {"penalty": 1, "serious": 0}
    with engine.connect() as conn:
        [fact] = [f for f in record_as_of(conn, A, today_in_beijing()).facts if f.document_no == "R-5"]
    assert fact.publicity is Publicity.ENDED and "2026-03-01" in fact.basis


def test_the_transfer_worklist_warns_60_days_before_the_three_years(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RULES.md §5: unresolved 3 years on the abnormal list -> serious list, warned 60 days before."""
    from credit_engine.workflows.transfers import transfers_due

    leap = make_uscc(4)
    record_at(monkeypatch, "2022-01-01")
    ab = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]
    se = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
    reason = "未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告的"
    ingest_paths(
        [
            write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows()),
            write_csv(
                tmp_path / "ab.csv",
                ab,
                [
                    [A, "甲", reason, "2023-05-01", ""],  # never resolved
                    [B, "乙", reason, "2023-05-01", "2024-01-01"],  # resolved: nothing to do
                    [C, "丙", reason, "2022-01-10", ""],  # moved to the serious list below
                    [leap, "丁", reason, "2024-02-29", ""],  # due 2027-02-28, so warned from 2026-12-30
                ],
            ),
            write_csv(
                tmp_path / "se.csv", se, [[C, "丙", "被列入经营异常名录届满3年仍未履行相关义务的", "2025-01-10", ""]]
            ),
        ],
        engine,
        settings,
    )
    with engine.connect() as conn:
        before, warned, due = (
            transfers_due(conn, day) for day in (date(2026, 3, 1), date(2026, 3, 2), date(2026, 5, 1))
        )
        elsewhere = transfers_due(conn, date(2026, 5, 1), regions=("9999",))
    assert before == [] and elsewhere == []
    assert [(t.uscc, t.stage, t.warn_from, t.due_on) for t in warned] == [
        (A, "warn", date(2026, 3, 2), date(2026, 5, 1))
    ]
    assert [(t.uscc, t.stage, t.reason) for t in due] == [(A, "due", "annual_report")]
    with engine.connect() as conn:
        eve, first = (transfers_due(conn, day) for day in (date(2026, 12, 29), date(2026, 12, 30)))
    assert leap not in {t.uscc for t in eve} and (leap, date(2026, 12, 30)) in {(t.uscc, t.warn_from) for t in first}
    with engine.begin() as conn:  # the transfer repaired later (early removal): it was made, so not due again
        conn.execute(text("UPDATE fact SET status = 'repaired' WHERE kind = 'serious'"))
    with engine.connect() as conn:
        assert C not in {t.uscc for t in transfers_due(conn, date(2026, 5, 1))}

"""Every rule switch (2021-09-01, 2025-12-25, 2026-04-01) on both sides, for the record, the public
view, repair eligibility and the sweep; the publicity the source states; the repair conditions
(RULES.md §3, §5). Records are judged by the set in force on the judged date (records.TRANSITION)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from credit_engine.ingest import ingest_paths
from credit_engine.records import Publicity, fact_ref, record_as_of
from credit_engine.rules import rules_for
from credit_engine.settings import Settings
from credit_engine.sources.fields import lifecycle
from credit_engine.workflows import CaseConflict, InvalidRequest, repair
from credit_engine.workflows import sweep as publicity
from credit_engine.workflows.repair import Evidence, RepairApplication
from tests.helpers import REG_HEADER, A, B, C, record_at, reg_rows, write_csv

PEN = [
    "CF_XDR_MC",
    "CF_XDR_SHXYM",
    "CF_WSH",
    "CF_CFLB",
    "CF_NR_FK",
    "CF_JDRQ",
    "CF_CFJG",
    "CF_WFXW",
    "CF_GSJZQ",
    "公示日期",
    "公示类别",
]
AB = ["统一社会信用代码", "企业名称", "列入经营异常名录原因", "列入日期", "移出日期"]
SE = ["统一社会信用代码", "企业名称", "列入严重违法失信企业名单原因", "列入日期", "移出日期"]
INS = ["统一社会信用代码", "企业名称", "抽查任务编号", "类型", "检查日期", "检查结果"]
PAID = (Evidence("fine_paid", "罚款缴纳凭证"),)
TRANSFER = "被列入经营异常名录届满3年仍未履行相关义务的"


@pytest.fixture
def world(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    record_at(monkeypatch, "2017-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2018-03-05")
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    # A: a general and a serious penalty decided in 2024 and in 2025
                    ["甲", A, "G-24", "罚款", "20", "2024-03-01", "局", "价格违法", "", "", ""],
                    ["甲", A, "S-24", "责令关闭", "", "2024-03-01", "局", "无证经营", "", "", ""],
                    ["甲", A, "G-25", "罚款", "20", "2025-03-15", "局", "广告违法", "", "2025-04-14", ""],
                    ["甲", A, "S-25", "责令停产停业", "", "2025-03-15", "局", "安全生产", "", "", ""],
                    ["甲", A, "M-26", "通报批评", "", "2026-03-20", "局", "广告违法", "", "", ""],
                    # the issuing authority's own end and tier
                    ["甲", A, "X-24", "罚款", "20", "2024-03-01", "局", "商标违法", "2027-03-01", "", ""],
                    ["甲", A, "T-24", "罚款", "5", "2024-03-01", "局", "质量违法", "", "", "严重"],
                ],
            ),
            write_csv(
                tmp_path / "se.csv",
                SE,
                [
                    [C, "丙", "提交虚假材料取得登记", "2018-03-01", ""],  # 5 years before 2021-09-01, then 3
                    [C, "丙", "提交虚假材料取得登记", "2019-06-01", ""],
                ],
            ),
        ],
        engine,
        settings,
    )
    return engine


def penalties(engine: Engine, on: str) -> dict[str, tuple[Publicity, str]]:
    with engine.connect() as conn:
        record = record_as_of(conn, A, date.fromisoformat(on))
    return {f.document_no: (f.publicity, f.basis) for f in record.facts if f.kind == "penalty"}


def shown(engine: Engine, uscc: str, on: str) -> set[str]:
    with engine.connect() as conn:
        view = record_as_of(conn, uscc, date.fromisoformat(on)).public_view()
    return {r["document_no"] or f"{r['kind']}:{r['event_date']}" for r in view["records"]}


@pytest.mark.parametrize(
    ("on", "rule_set", "published", "ended"),
    [
        # Order 45: 3 years from publication (decision + 20 working days: 2024-03-29)
        ("2025-12-24", "cn-2021-09-01", {"G-24", "S-24", "G-25", "S-25", "X-24", "T-24"}, set()),
        # Order 107: general at most 1 year (G-24 ended 2025-03-29); the stated end stands
        ("2025-12-25", "cn-2025-12-25", {"S-24", "G-25", "S-25", "X-24", "T-24"}, {"G-24"}),
        ("2026-03-31", "cn-2025-12-25", {"S-24", "G-25", "S-25", "X-24", "T-24", "M-26"}, {"G-24"}),
        # Order 36: counted from the decision, so G-25 (published 2025-04-14) ends at 2026-03-15
        ("2026-04-01", "cn-2026-04-01", {"S-24", "S-25", "X-24", "T-24", "M-26"}, {"G-24", "G-25"}),
    ],
)
def test_records_of_2024_and_2025_penalties_judged_on_each_side_of_the_switches(
    world: Engine, on: str, rule_set: str, published: set[str], ended: set[str]
) -> None:
    status = penalties(world, on)
    assert {d for d, (p, _) in status.items() if p is Publicity.PUBLISHED} == published
    assert {d for d, (p, _) in status.items() if p is Publicity.ENDED} == ended
    assert all(basis.startswith(rule_set) for _, basis in status.values())  # the basis names the set
    assert {"G-24", "S-24", "G-25", "S-25"} & shown(world, A, on) == published & {"G-24", "S-24", "G-25", "S-25"}
    counting = "counted from the decision" if rule_set == "cn-2026-04-01" else "counted from publication"
    assert counting in status["G-25"][1]
    if rule_set != "cn-2026-04-01":
        assert "publication on 2025-04-14 (source)" in status["G-25"][1]
        assert "decision + 20 working days, assumed" in status["S-24"][1]


def test_the_source_states_tier_and_end_and_a_derived_tier_says_which_rule(world: Engine) -> None:
    with world.connect() as conn:
        facts = {f.document_no: f for f in record_as_of(conn, A, date(2026, 1, 10)).facts if f.kind == "penalty"}
    assert (facts["X-24"].publicity_end, facts["X-24"].tier_derived) == (date(2027, 3, 1), True)
    assert "stated by the issuing authority (公示截止期)" in facts["X-24"].basis
    assert (facts["T-24"].tier, facts["T-24"].tier_derived, facts["T-24"].tier_rule) == ("serious", False, "source")
    assert (facts["G-24"].tier, facts["G-24"].tier_derived) == ("general", True)
    assert (
        facts["G-24"].tier_rule == "penalty.small_fine_max_yuan"
        and facts["S-24"].tier_rule == "penalty.serious_categories"
    )
    assert facts["X-24"].flags == () and facts["T-24"].flags == ()  # stated in the detail, not a review flag
    assert facts["X-24"].detail["end_stated"] and facts["T-24"].detail["tier_stated"]
    # without its stated tier the 50 000 yuan fine would be general, 1 year under Order 107
    assert facts["T-24"].publicity is Publicity.PUBLISHED and facts["T-24"].publicity_end == date(2027, 3, 29)


def test_the_serious_list_before_2021_09_01_is_removed_after_five_years(world: Engine) -> None:
    assert {"serious:2018-03-01", "serious:2019-06-01"} <= shown(world, C, "2021-08-31")
    assert "serious:2018-03-01" not in shown(world, C, "2021-09-01")  # Order 44: 3 years
    with world.connect() as conn:
        listed = {str(f.event_date): f for f in record_as_of(conn, C, date(2021, 8, 31)).facts if f.kind == "serious"}
    assert listed["2018-03-01"].publicity_end == date(2023, 3, 1) and "83号" in listed["2018-03-01"].basis


def swept(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT document_no, kind, event_date FROM fact WHERE superseded_at IS NULL "
                "AND flags LIKE '%publicity_ended%'"
            )
        ).all()
    return {doc or f"{kind}:{str(day)[:10]}" for doc, kind, day in rows}


@pytest.mark.parametrize(
    ("before", "after", "item"),
    [
        ("2021-08-31", "2021-09-01", "serious:2018-03-01"),  # C's 2018 listing: 5 years, then 3
        ("2025-12-24", "2025-12-25", "G-24"),  # Order 107: general at most 1 year
        ("2026-03-31", "2026-04-01", "G-25"),  # Order 36: counted from the decision
    ],
)
def test_the_sweep_on_both_sides_of_each_switch(world: Engine, before: str, after: str, item: str) -> None:
    publicity.sweep(world, date.fromisoformat(before))
    assert item not in swept(world)
    report = publicity.sweep(world, date.fromisoformat(after))
    assert item in swept(world) and sum(report.ended.values()) >= 1
    assert report.rule_set_id == rules_for(date.fromisoformat(after)).id


def app(doc: str, uscc: str = A, kind: str = "penalty", **changes) -> RepairApplication:
    fact = f"{kind}:{doc}:{uscc}" if kind == "penalty" else doc
    values = {
        "uscc": uscc,
        "fact": fact,
        "applicant": "申请人",
        "obligations_performed": True,
        "commitment_signed": True,
        "evidence": PAID,
    }
    return RepairApplication(**(values | changes))


def file(engine: Engine, application: RepairApplication, on: str):
    with engine.begin() as conn:
        return repair.apply(conn, application, date.fromisoformat(on))


@pytest.mark.parametrize(
    ("doc", "on", "eligible", "earliest"),
    [
        # 2021-09-01 switch: serious-list early removal after 1 year (Order 44); none before (83号)
        ("serious:C:2019-06-01", "2021-08-31", False, None),
        ("serious:C:2019-06-01", "2021-09-01", True, None),
        # 2025-12-25 switch: a serious penalty is never stopped early under Order 45, after 1 year under 107
        ("S-24", "2025-12-24", False, None),
        ("S-24", "2025-12-25", True, None),
        # 2026-04-01 switch: a minor penalty has no early stop under 107, repair at once under Order 36
        ("M-26", "2026-03-31", False, None),
        ("M-26", "2026-04-01", True, None),
    ],
)
def test_repair_eligibility_on_both_sides_of_each_switch(
    world: Engine, doc: str, on: str, eligible: bool, earliest: date | None
) -> None:
    if doc.startswith("serious:"):
        listed = doc.split(":")[2]
        application = app(f"serious:{C}:{listed}", C, kind="serious")
    else:
        application = app(doc)
    case = file(world, application, on)
    assert (case.status == "pending") is eligible, case.assessment["reasons"]
    assert case.earliest_on == earliest


@pytest.fixture
def standing(engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """B: a general penalty, a later one of the same type, and a listing history; C: a transfer."""
    record_at(monkeypatch, "2017-01-01")
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())], engine, settings)
    record_at(monkeypatch, "2024-01-05")
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    ["乙", B, "P-1", "罚款", "20", "2025-01-10", "局", "价格违法", "", "", ""],
                    ["乙", B, "P-2", "罚款", "20", "2025-05-10", "局", "价格违法", "", "", ""],  # later, same type
                    ["乙", B, "Q-1", "罚款", "20", "2025-01-10", "局", "广告违法", "", "", ""],  # no later of its type
                    ["丙", C, "K-1", "罚款", "20", "2025-01-10", "局", "广告违法", "", "", ""],
                    ["甲", A, "Q-A", "罚款", "20", "2025-01-10", "局", "广告违法", "", "", ""],
                    [
                        "乙",
                        B,
                        "R-1",
                        "罚款",
                        "20",
                        "2026-09-01",
                        "局",
                        "质量违法",
                        "",
                        "",
                        "",
                    ],  # published to 2027-09-01
                ],
            ),
            write_csv(
                tmp_path / "ab.csv", AB, [[C, "丙", "通过登记的住所或者经营场所无法联系的", "2025-11-01", "2026-02-01"]]
            ),
            write_csv(
                tmp_path / "se.csv",
                SE,
                [[A, "甲", TRANSFER, "2024-01-02", ""], [A, "甲", "提交虚假材料", "2024-01-03", ""]],
            ),
            write_csv(tmp_path / "ins.csv", INS, [[B, "乙", "T-1", "双随机抽查", "2024-12-01", "发现问题已责令改正"]]),
        ],
        engine,
        settings,
    )
    return engine


def test_a_later_penalty_of_the_same_type_refuses_repair(standing: Engine) -> None:
    refused = file(standing, app("P-1", B), "2026-02-01")
    assert refused.status == "refused" and refused.earliest_on is None
    assert any("later penalty of the same type exists (P-2" in r for r in refused.assessment["reasons"])
    assert file(standing, app("Q-1", B), "2026-02-01").status == "pending"  # another type: no bar


def test_the_abnormal_list_on_the_application_date_refuses_repair(standing: Engine) -> None:
    listed = file(standing, app("K-1", C), "2026-01-15")
    assert listed.status == "refused" and any(
        "on the abnormal list on 2026-01-15" in r for r in listed.assessment["reasons"]
    )
    assert file(standing, app("K-1", C), "2026-02-02").status == "pending"  # removed on 2026-02-01


def test_the_serious_list_refuses_and_a_running_bar_blocks_early_removal(standing: Engine) -> None:
    on_list = file(standing, app("Q-A", A), "2026-02-01")
    assert any("on the serious list on 2026-02-01" in r for r in on_list.assessment["reasons"])
    # the transfer's listing: the legal representative's 3-year bar runs to 2027-01-02; transferred before
    # the 2024 revision (国务院令第777号, 2024-05-01), so under Art.17 as then numbered
    transfer = file(standing, app(f"serious:{A}:2024-01-02", A, kind="serious"), "2026-02-01")
    assert transfer.status == "refused" and transfer.earliest_on == date(2027, 1, 2)
    assert any("bar runs until 2027-01-02" in r and "(2014) 第十七条" in r for r in transfer.assessment["reasons"])
    other = file(standing, app(f"serious:{A}:2024-01-03", A, kind="serious"), "2026-02-01")
    assert not any("bar runs" in r for r in other.assessment["reasons"])  # no statutory measure for this ground
    assert not any("on the serious list" in r for r in other.assessment["reasons"])


@pytest.mark.parametrize(("on", "repairable"), [("2025-12-24", False), ("2025-12-25", True)])
def test_negative_inspection_results_are_repairable_from_order_107(standing: Engine, on: str, repairable: bool) -> None:
    case = file(standing, app(f"inspection:{B}:T-1:2024-12-01", B, kind="inspection"), on)
    assert (case.status == "pending") is repairable, case.assessment["reasons"]
    if not repairable:
        assert any("not repairable under cn-2021-09-01" in r for r in case.assessment["reasons"])


def test_an_inspection_result_stops_with_its_related_penalty(standing: Engine) -> None:
    case = file(standing, app("Q-1", B), "2026-02-01")
    with standing.begin() as conn:
        decision = repair.decide(conn, case.ticket, True, ["已整改"], "key:1:officer", champion=None)
    with standing.connect() as conn:
        facts = {f.kind: f.publicity for f in record_as_of(conn, B, _today()).facts if f.kind == "inspection"}
        audit = conn.execute(text("SELECT detail_json FROM audit_log WHERE action = 'repair_decided'")).scalar()
    assert decision.case.outcome == "approved" and facts["inspection"] is Publicity.REPAIRED
    assert f"inspection:{B}:T-1:2024-12-01" in audit


def _today() -> date:
    from credit_engine.records import today_in_beijing

    return today_in_beijing()


@pytest.mark.parametrize(("on", "eligible"), [("2025-12-24", False), ("2025-12-25", True)])
def test_bankruptcy_reorganisation_with_the_court_ruling(standing: Engine, on: str, eligible: bool) -> None:
    ruling = app("Q-1", B, obligations_performed=False, reorganisation_ruling="（2025）黑01破12号 哈尔滨中院")
    case = file(standing, ruling, on)
    assert (case.status == "pending") is eligible, case.assessment["reasons"]
    assert file(standing, app("K-1", C, obligations_performed=False), "2026-03-01").status == "refused"


def test_acceptance_and_extension_under_order_107_not_before(standing: Engine) -> None:
    new = file(standing, app("Q-1", B), "2025-12-25")
    assert new.assessment["accept_by"] == "2025-12-30" and new.deadline == date(2026, 1, 6)
    with standing.begin() as conn:
        extended = repair.extend(conn, new.ticket, "案情复杂, 需现场核查", "key:1:officer")
    assert extended.limit_working_days == 17 and extended.deadline == date(2026, 1, 20)
    with standing.begin() as conn, pytest.raises(InvalidRequest, match="allow 17"):
        repair.extend(conn, new.ticket, "再延", "key:1:officer")
    old = file(standing, app("K-1", C), "2025-10-20")
    assert "accept_by" not in old.assessment and old.limit_working_days == 15
    with standing.begin() as conn, pytest.raises(InvalidRequest, match="no extension"):
        repair.extend(conn, old.ticket, "案情复杂", "key:1:officer")


def test_a_repair_obtained_by_a_false_commitment_is_revoked_and_the_record_restored(standing: Engine) -> None:
    case = file(standing, app("R-1", B), "2026-12-02")
    with standing.begin() as conn, pytest.raises(CaseConflict, match="not an approved repair"):
        repair.revoke(conn, case.ticket, ["承诺不实"], "key:1:officer", champion=None)
    with standing.begin() as conn:
        repair.decide(conn, case.ticket, True, ["已整改"], "key:1:officer", champion=None)
    assert fact_ref(f"penalty:R-1:{B}") not in {r["ref"] for r in _public(standing, B)}
    with standing.begin() as conn:
        revoked = repair.revoke(conn, case.ticket, ["信用承诺不实"], "key:2:chief", champion=None)
    assert revoked.case.outcome == "revoked" and revoked.fact_version == 3
    assert fact_ref(f"penalty:R-1:{B}") in {r["ref"] for r in _public(standing, B)}
    with standing.connect() as conn:
        actions = [
            a
            for (a,) in conn.execute(
                text("SELECT action FROM audit_log WHERE target = :t ORDER BY id"), {"t": case.ticket}
            )
        ]
    assert actions == ["repair_filed", "repair_decided", "repair_revoked"]


def _public(engine: Engine, uscc: str) -> list[dict]:
    with engine.connect() as conn:
        return record_as_of(conn, uscc, _today()).public_view()["records"]


def test_abnormal_list_removal_is_decided_within_five_working_days(standing: Engine) -> None:
    case = file(
        standing,
        RepairApplication(
            C, f"abnormal:{C}:2025-11-01", "丙", True, True, (Evidence("address_reachable", "可以重新取得联系"),)
        ),
        "2026-01-05",
    )
    assert case.status == "pending" and case.limit_working_days == 5


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("撤销", "withdrawn"),
        ("变更", "withdrawn"),
        ("确认违法", "withdrawn"),
        ("确认无效", "withdrawn"),
        ("正常", "active"),
        (None, "active"),
    ],
)
def test_withdrawal_for_a_changed_revoked_illegal_or_void_decision(state: str | None, status: str) -> None:
    """SAMR Order 45 Art.11: withdrawn within 3 working days."""
    assert lifecycle(pd.Series([state], dtype="string")).iloc[0] == status

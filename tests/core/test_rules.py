"""Effective-dated rule sets, sampling policies and penalty tiering (RULES.md §1-5)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date
from importlib.resources import files

import pytest
from pydantic import BaseModel, ValidationError

from credit_engine.rules import (
    NoRuleSetInForce,
    RuleSet,
    SamplingPolicy,
    Tier,
    load_rule_sets,
    province_of,
    rules_for,
    rules_in_force,
    sampling_policy,
    tier_penalty,
)
from credit_engine.rules.model import Tagged
from credit_engine.rules.penalty import split_categories

DATA = files("credit_engine.rules") / "data"
SET_IDS = ["cn-2014-10-01", "cn-2021-09-01", "cn-2025-12-25", "cn-2026-04-01"]


def _raw(name: str) -> dict:
    return tomllib.loads((DATA / name).read_text(encoding="utf-8"))


def _tagged(node: object) -> Iterator[Tagged]:
    """Every tagged value inside a model."""
    if isinstance(node, Tagged):
        yield node
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _tagged(getattr(node, name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _tagged(item)


# ---------------------------------------------------------------------------- rule sets


def test_rule_sets_are_sorted_by_effective_date() -> None:
    sets = load_rule_sets()
    assert [s.id for s in sets] == SET_IDS
    assert [s.effective_from.isoformat() for s in sets] == [i.removeprefix("cn-") for i in SET_IDS]
    assert load_rule_sets() is sets


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2014, 10, 1), "cn-2014-10-01"),
        (date(2021, 8, 31), "cn-2014-10-01"),
        (date(2021, 9, 1), "cn-2021-09-01"),
        (date(2025, 12, 24), "cn-2021-09-01"),
        (date(2025, 12, 25), "cn-2025-12-25"),
        (date(2026, 3, 31), "cn-2025-12-25"),
        (date(2026, 4, 1), "cn-2026-04-01"),
        (date(2031, 1, 1), "cn-2026-04-01"),
    ],
)
def test_rules_in_force_on_both_sides_of_each_effective_date(on: date, expected: str) -> None:
    assert rules_in_force(on).id == expected


def test_no_rule_set_before_2014_10_01() -> None:
    with pytest.raises(NoRuleSetInForce, match=r"2014-09-30.*cn-2014-10-01.*2014-10-01"):
        rules_in_force(date(2014, 9, 30))
    assert issubclass(NoRuleSetInForce, LookupError)


@pytest.mark.parametrize(
    ("set_id", "decision_days", "general_months", "general_repair", "key_area_repair"),
    [
        ("cn-2021-09-01", 15, 36, 6, 12),
        ("cn-2025-12-25", 7, 12, 3, None),  # Order 107: general at most 1 year
        ("cn-2026-04-01", 7, 12, 3, None),
    ],
)
def test_repair_rules_per_set(
    set_id: str, decision_days: int, general_months: int, general_repair: int, key_area_repair: int | None
) -> None:
    rules = rules_in_force(date.fromisoformat(set_id.removeprefix("cn-")))
    general = rules.penalty.tiers.general
    assert rules.repair.decision_working_days.value == decision_days
    assert general.publicity_months.value == general_months
    assert general.repair_after_months.value == general_repair
    assert general.key_area_repair_after_months.value == key_area_repair


def test_2026_three_tiers() -> None:
    tiers = rules_in_force(date(2026, 4, 1)).penalty.tiers
    three = (tiers.minor, tiers.general, tiers.serious)
    assert [(t.publicity_months.value, t.repair_after_months.value) for t in three] == [(3, 0), (12, 3), (36, 12)]
    assert {t.publicity_months.tag for t in three} == {"C"}


def test_baseline_repeats_2021_values_but_is_unconfirmed_except_the_serious_list() -> None:
    baseline, y2021 = load_rule_sets()[:2]
    # before 2021-09-01 the serious list was removed after 5 years, never early (条例 2014 Art.17, 83号 Art.9)
    listed = baseline.serious_list
    assert (listed.publicity_years.value, listed.early_removal_after_years.value) == (5, None)
    assert {listed.publicity_years.tag, listed.early_removal_after_years.tag} == {"C"}
    rest = baseline.model_copy(update={"serious_list": y2021.serious_list, "provinces": ()})
    shared = {id(t) for t in _tagged(y2021.serious_list)}  # the provinces' own values are the provinces' tags
    assert {t.tag for t in _tagged(rest) if id(t) not in shared} == {"U"}
    assert all("configurable" in t.note for t in _tagged(rest) if t.tag == "U")
    assert [getattr(t, "value", None) for t in _tagged(rest)] == [
        getattr(t, "value", None) for t in _tagged(y2021.model_copy(update={"provinces": ()}))
    ]


@pytest.mark.parametrize(
    "name",
    [f"{i}.toml" for i in SET_IDS]
    + ["sampling/heilongjiang-lindian-2024.toml", "sampling/yancheng-2022.toml", "sampling/bayannur-2022.toml"],
)
def test_every_numeric_rule_carries_tag_and_source(name: str) -> None:
    def walk(table: dict, path: str) -> Iterator[str]:
        numeric = [
            k
            for k, v in table.items()
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            or isinstance(v, list)
            and v
            and all(isinstance(x, int | float) for x in v)
        ]
        if numeric and not ({"tag"} <= table.keys() and table.keys() & {"source", "basis"}):
            yield f"{path}: {numeric}"
        for key, value in table.items():
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, dict):
                    yield from walk(child, f"{path}.{key}")

    assert list(walk(_raw(name), name)) == []


def test_unconfirmed_values_must_be_declared_configurable() -> None:
    data = _raw("cn-2021-09-01.toml")
    data["penalty"]["small_fine_max_yuan"]["note"] = "picked by us"
    with pytest.raises(ValidationError, match="configurable assumption"):
        RuleSet.model_validate(data)


def test_limits_lists_and_retention() -> None:
    rules = rules_in_force(date(2026, 5, 1))
    objection = rules.objection
    assert (objection.mark_working_days.value, objection.decide_working_days.value) == (0, 5)
    assert objection.max_total_working_days.value == 20
    alternative = (objection.alternative_decide_working_days, objection.alternative_extension_working_days)
    assert [a.value for a in alternative] == [3, 4]
    assert (rules.abnormal_list.to_serious_after_years.value, rules.abnormal_list.warning_days_before.value) == (3, 60)
    assert (rules.serious_list.publicity_years.value, rules.serious_list.early_removal_after_years.value) == (3, 1)
    assert rules.serious_list.publicity_years.tag == "P"
    court = rules.court_list
    assert (court.listed_years.value, court.serious_extra_years.value) == (2, (1, 3))
    assert court.deletion_working_days.value == 3
    assert court.minors_listed.value is False
    assert {r.role for r in court.barred_roles} == {"董事", "监事", "高级管理人员", "法定代表人"}
    assert court.barring_conduct.value == ("到期未清偿",)
    bars = {b.id: (b.years, b.counted_from, b.other_enterprises_only) for b in rules.person_bars}
    assert bars == {
        "criminal_sentence": (5, "sentence_served", False),
        "criminal_probation": (2, "probation_ended", False),
        "bankruptcy_liquidation": (3, "liquidation_completed", False),
        "licence_revoked_or_closed": (3, "revoked_or_closed", False),
        "court_large_debt": (None, "court_listing", False),
        "registration_fraud": (3, "registration_cancelled", True),
        "serious_list_transfer": (3, "listed", True),
    }
    assert rules.withdrawal.revoked_decision_working_days.value == 3
    retention = rules.retention
    kept = (retention.bad_info_max_years, retention.query_log_years, retention.free_reports_per_year)
    assert [k.value for k in kept] == [5, 10, 2]
    assert (rules.penalty.small_fine_max_yuan.value, rules.penalty.serious_fine_min_yuan.value) == (10_000, 1_000_000)
    assert rules.penalty.small_fine_max_yuan.tag == rules.penalty.serious_fine_min_yuan.tag == "U"
    assert {"食品", "药品", "特种设备", "危险化学品"} <= set(rules.key_areas.value)


@pytest.mark.parametrize(
    ("text", "reason_id"),
    [
        ("未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告的", "annual_report"),
        ("通过登记的住所或者经营场所无法联系的", "unreachable"),
        ("公示企业信息隐瞒真实情况、弄虚作假的", "false_information"),
        (
            "未在工商行政管理部门依照《企业信息公示暂行条例》第十条规定责令的期限内公示有关企业信息的",
            "ordered_information",
        ),
    ],
)
def test_abnormal_reasons_match_source_texts(text: str, reason_id: str) -> None:
    reasons = rules_in_force(date(2022, 1, 1)).abnormal_list.reasons
    assert len(reasons) == 4
    assert [r.id for r in reasons if any(m in text for m in r.match)] == [reason_id]
    assert all(r.repair_grounds for r in reasons)


def test_direct_judgements() -> None:
    grading = rules_in_force(date(2026, 5, 1)).grading
    judged = {(j.condition, j.effect, j.grade) for j in grading.direct_judgements}
    assert judged == {
        ("serious_list_active", "force", "D"),
        ("abnormal_list_active", "at_least", "C"),
        ("enterprise_court_listed", "at_least", "C"),
        ("legal_rep_court_listed", "at_least", "C"),
        ("too_new", "force", "B"),
    }
    assert grading.direct_judgements[-1].condition == "too_new"
    assert grading.too_new_months.value == 12 and grading.too_new_months.tag == "U"


# ----------------------------------------------------------------------------- sampling


def test_default_sampling_policy_is_lindian() -> None:
    policy = sampling_policy(on=date(2026, 5, 1))
    assert policy.id == "heilongjiang-lindian-2024"
    assert [policy.for_class(g).ratio.value for g in "ABCD"] == [(0.0, 0.05), (0.05, 0.2), (0.21, 0.6), (0.61, 1.0)]
    assert [policy.for_class(g).max_draws_per_12_months.value for g in "ABCD"] == [0.99, 1, 1.99, None]
    assert policy.key_area_full_coverage.value is True


def test_alternative_policies() -> None:
    yancheng, bayannur = sampling_policy("yancheng-2022"), sampling_policy("bayannur-2022")
    assert yancheng.for_class("D").ratio.value == (0.8, 1.0)
    assert yancheng.for_class("C").ratio.value == (0.3, 0.5)
    assert [bayannur.for_class(g).default_ratio.value for g in "ABCD"] == [0.02, 0.05, 1.0, 1.0]
    with pytest.raises(LookupError, match="bayannur-2022"):
        sampling_policy("nowhere-2020")


def test_default_ratio_must_lie_in_the_range() -> None:
    data = _raw("sampling/bayannur-2022.toml")
    data["classes"]["A"]["default_ratio"]["value"] = 0.5
    with pytest.raises(ValidationError, match="default 0.5"):
        SamplingPolicy.model_validate(data)


# ----------------------------------------------------------------------------- tiering

D = date(2026, 1, 31)  # month-end decision date: periods clamp (+1 month → 02-28)


@pytest.mark.parametrize(
    ("set_on", "categories", "amount", "key_area", "tier", "end", "repair_from"),
    [
        # 2021 rules (Order 45, counted from publication, here on D): minor 3 months; general 3 years,
        # early stop after 6 months (12 in key areas); serious 3 years, never early
        (date(2022, 1, 1), ["警告"], None, False, Tier.MINOR, None, None),
        (date(2022, 1, 1), ["通报批评"], None, False, Tier.MINOR, date(2026, 4, 30), None),
        (date(2022, 1, 1), ["警告、罚款"], 10_000, False, Tier.MINOR, date(2026, 4, 30), None),
        (date(2022, 1, 1), ["罚款"], 10_001, False, Tier.GENERAL, date(2029, 1, 31), date(2026, 7, 31)),
        (date(2022, 1, 1), ["罚款"], 50_000, True, Tier.GENERAL, date(2029, 1, 31), date(2027, 1, 31)),
        (date(2022, 1, 1), ["罚款"], None, False, Tier.GENERAL, date(2029, 1, 31), date(2026, 7, 31)),
        (date(2022, 1, 1), ["没收违法所得"], None, False, Tier.GENERAL, date(2029, 1, 31), date(2026, 7, 31)),
        (date(2022, 1, 1), ["降低资质等级"], None, False, Tier.GENERAL, date(2029, 1, 31), None),  # never early
        (date(2022, 1, 1), ["罚款"], 1_000_000, False, Tier.SERIOUS, date(2029, 1, 31), None),
        (date(2022, 1, 1), ["罚款;吊销许可证件"], 5_000, False, Tier.SERIOUS, date(2029, 1, 31), None),
        (date(2022, 1, 1), ["责令关闭"], None, False, Tier.SERIOUS, date(2029, 1, 31), None),
        # 2025-12-25 rules (Order 107): general 3 months to 1 year, serious 1 to 3 years
        (date(2026, 1, 1), ["通报批评"], None, False, Tier.MINOR, date(2026, 4, 30), None),
        (date(2026, 1, 1), ["没收违法所得", "罚款"], 5_000, True, Tier.GENERAL, date(2027, 1, 31), date(2026, 4, 30)),
        (date(2026, 1, 1), ["罚款"], 50_000, False, Tier.GENERAL, date(2027, 1, 31), date(2026, 4, 30)),
        (date(2026, 1, 1), ["行政拘留"], None, False, Tier.SERIOUS, date(2029, 1, 31), date(2027, 1, 31)),
        (date(2026, 1, 1), ["责令停产停业"], None, False, Tier.SERIOUS, date(2029, 1, 31), None),
        # 2026-04-01 rules (Order 36, counted from the decision): 3 months / 1 year / 3 years
        (date(2026, 4, 1), ["警告"], 0, False, Tier.MINOR, None, None),
        (date(2026, 4, 1), ["罚款"], 2_000, False, Tier.MINOR, date(2026, 4, 30), D),
        (date(2026, 4, 1), ["罚款"], 20_000, True, Tier.GENERAL, date(2027, 1, 31), date(2026, 4, 30)),
        (date(2026, 4, 1), ["罚款"], 3_000_000, False, Tier.SERIOUS, date(2029, 1, 31), date(2027, 1, 31)),
        (date(2026, 4, 1), ["限制从业"], None, False, Tier.SERIOUS, date(2029, 1, 31), None),
    ],
)
def test_tiering_under_each_rule_set(
    set_on: date,
    categories: list[str],
    amount: float | None,
    key_area: bool,
    tier: Tier,
    end: date | None,
    repair_from: date | None,
) -> None:
    rules = rules_in_force(set_on)
    result = tier_penalty(categories, amount, D, key_area, rules, published_on=D)
    assert (result.tier, result.publicity_end, result.repair_from) == (tier, end, repair_from)
    assert result.published is (end is not None)
    assert result.repairable_early is (repair_from is not None)
    assert result.basis.startswith(rules.id + ": " + tier.value)
    assert result.tier_derived and result.tier_rule.startswith("penalty.")


def test_order_45_counts_from_publication_order_36_from_the_decision() -> None:
    """Order 45 Art.13: from publication (the source's date, else decision + 20 working days, Art.9);
    Order 36: from the decision document."""
    decided = date(2024, 3, 1)
    old, new = rules_in_force(date(2025, 12, 24)), rules_in_force(date(2026, 4, 1))
    lagged = tier_penalty(["罚款"], 50_000, decided, False, old)
    assert lagged.counted_from == date(2024, 3, 29) and lagged.publicity_end == date(2027, 3, 29)
    assert "decision + 20 working days, assumed" in lagged.basis
    dated = tier_penalty(["罚款"], 50_000, decided, False, old, published_on=date(2024, 3, 8))
    assert dated.counted_from == date(2024, 3, 8) and dated.publicity_end == date(2027, 3, 8)
    assert "publication on 2024-03-08 (source)" in dated.basis
    decision = tier_penalty(["罚款"], 50_000, decided, False, new, published_on=date(2024, 3, 8))
    assert decision.counted_from == decided and decision.publicity_end == date(2025, 3, 1)
    assert rules_in_force(date(2025, 12, 24)).penalty.publication_lag_working_days.tag == "U"


def test_a_stated_tier_or_end_is_the_issuing_authoritys_and_wins() -> None:
    rules = rules_in_force(date(2026, 4, 1))
    derived = tier_penalty(["罚款"], 50_000, D, False, rules)
    assert derived.tier is Tier.GENERAL and derived.tier_derived and derived.tier_rule == "penalty.small_fine_max_yuan"
    stated = tier_penalty(["罚款"], 50_000, D, False, rules, stated_tier=Tier.SERIOUS)
    assert stated.tier is Tier.SERIOUS and not stated.tier_derived and stated.tier_rule == "source"
    assert stated.publicity_end == date(2029, 1, 31) and stated.repair_from == date(2027, 1, 31)
    ended = tier_penalty(["罚款"], 50_000, D, False, rules, stated_end=date(2026, 7, 31))
    assert ended.publicity_end == date(2026, 7, 31) and ended.end_stated and "公示截止期" in ended.basis
    assert ended.repair_from == date(2026, 4, 30)  # the derived general tier's minimum still applies
    warned = tier_penalty(["警告"], None, D, False, rules, stated_end=date(2026, 3, 1))
    assert warned.published and warned.publicity_end == date(2026, 3, 1)  # the authority published it


@pytest.mark.parametrize(
    ("province", "natural", "tier"),
    [
        (None, False, Tier.GENERAL),
        ("23", False, Tier.GENERAL),
        ("42", False, Tier.MINOR),
        ("42", True, Tier.GENERAL),
    ],
)
def test_the_small_fine_limit_is_per_province_and_party_type(province: str | None, natural: bool, tier: Tier) -> None:
    """较低数额罚款 is set per province, possibly per party type (湖北: 10 000 persons, 100 000 legal persons)."""
    rules = rules_for(date(2024, 1, 1), province)
    assert rules.province == (province if province == "42" or province == "23" else None)
    assert tier_penalty(["罚款"], 50_000, D, False, rules, natural_person=natural).tier is tier


def test_province_objection_limits_are_configurable_assumptions() -> None:
    heilongjiang = rules_for(date(2026, 5, 1), "23")
    assert heilongjiang.objection.decide_working_days.value == 5
    assert heilongjiang.objection.decide_working_days.tag == "U"
    assert heilongjiang.objection.max_total_working_days.value == 20
    assert rules_for(date(2026, 5, 1), "42").objection.decide_working_days.tag == "C"  # national default kept


def test_simple_procedure_is_minor_when_derived() -> None:
    rules = rules_in_force(date(2026, 4, 1))
    assert tier_penalty(["罚款"], 50_000, D, False, rules).tier is Tier.GENERAL
    simple = tier_penalty(["罚款"], 50_000, D, False, rules, simple_procedure=True)
    assert simple.tier is Tier.MINOR and simple.tier_rule == "penalty.simple_procedure_markers"


def test_a_longer_restriction_keeps_the_penalty_published_until_it_ends() -> None:
    """SAMR Order 45 Art.13(3): only 限制开展生产经营活动 and 限制从业 longer than the period extend it."""
    rules = rules_in_force(date(2026, 4, 1))
    five_years = tier_penalty(["限制从业"], None, D, False, rules, restriction_until=date(2031, 1, 31))
    assert five_years.publicity_end == date(2031, 1, 31) and "end of its restriction" in five_years.basis
    business = tier_penalty(["限制开展生产经营活动"], None, D, False, rules, restriction_until=date(2031, 1, 31))
    assert business.publicity_end == date(2031, 1, 31)
    shorter = tier_penalty(["限制从业"], None, D, False, rules, restriction_until=date(2027, 1, 31))
    assert shorter.publicity_end == date(2029, 1, 31)  # the tier's 3 years
    warning = tier_penalty(["警告"], 0, D, False, rules, restriction_until=date(2031, 1, 31))
    assert not warning.published and warning.publicity_end is None  # never published stays so
    # a fine restricts nothing: its 处罚有效期 does not lengthen its publicity
    fine = tier_penalty(["罚款"], 2_000, D, False, rules, restriction_until=date(2999, 12, 31))
    assert fine.publicity_end == date(2026, 4, 30)
    # a suspended licence or stopped business does not extend publicity (not in Art.13(3))
    suspended = tier_penalty(["暂扣许可证件"], None, D, False, rules, restriction_until=date(2028, 1, 31))
    assert suspended.publicity_end == date(2027, 1, 31) and suspended.repair_from == date(2026, 4, 30)
    stopped = tier_penalty(["责令停产停业"], None, D, False, rules, restriction_until=date(2031, 1, 31))
    assert stopped.publicity_end == date(2029, 1, 31)


def test_basis_explains_the_decision() -> None:
    rules = rules_in_force(date(2022, 1, 1))
    basis = tier_penalty(["罚款"], 50_000, D, False, rules, published_on=D).basis
    assert "50,000 yuan > small-fine limit 10,000 yuan" in basis and "2029-01-31" in basis
    assert "derived by penalty.small_fine_max_yuan" in basis
    assert "never repairable early: 吊销营业执照" in tier_penalty(["吊销营业执照"], None, D, False, rules).basis
    assert "unrecognised 没收财物 treated as 其他" in tier_penalty(["没收财物"], None, D, False, rules).basis


def test_nan_amount_is_unknown_and_bad_input_is_refused() -> None:
    rules = rules_in_force(date(2026, 4, 1))
    assert tier_penalty(["罚款"], float("nan"), D, False, rules).tier is Tier.GENERAL
    with pytest.raises(ValueError, match="at least one category"):
        tier_penalty([" ", ""], None, D, False, rules)
    with pytest.raises(ValueError, match="negative"):
        tier_penalty(["罚款"], -1, D, False, rules)


def test_split_categories() -> None:
    assert split_categories(["警告、罚款", "罚款; 没收违法所得", "责令停产停业，吊销许可证件"]) == (
        "警告",
        "罚款",
        "没收违法所得",
        "责令停产停业",
        "吊销许可证件",
    )


@pytest.mark.parametrize(
    ("uscc", "province"),
    [
        ("91230102MA0000001M", "23"),
        ("91420100MA0000001M", "42"),
        (None, None),
        (float("nan"), None),
        ("9", None),
    ],
)
def test_the_province_of_a_code(uscc: object, province: str | None) -> None:
    """A natural person's penalty has no USCC (NaN in a frame): national defaults apply."""
    assert province_of(uscc) == province

"""双随机 sampling without a store: policy terms, weights and caps, the exact PPS draw (a
chi-square test of its inclusion probabilities), the frame hash and verification, inspectors."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from credit_engine.sampling import blinding, draw, inspectors
from credit_engine.sampling.plan import Plan, load_plan
from credit_engine.sampling.policy import resolve
from credit_engine.sampling.weights import UNIT, compute_weights, inclusion_units
from tests.helpers import make_uscc

AS_OF = date(2026, 6, 30)


def plan(**changes: object) -> Plan:
    return Plan(title="测试计划", item="登记事项检查", departments=("市场监管局",), as_of=AS_OF, **changes)


def population(counts: dict[str, int], last: dict[int, date] | None = None) -> pd.DataFrame:
    grades = [g for g, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(
        {
            "uscc": [make_uscc(i) for i in range(len(grades))],
            "grade": grades,
            "last_inspected": pd.Series(pd.NaT, index=range(len(grades)), dtype="datetime64[s]"),
        }
    )
    for row, day in (last or {}).items():
        frame.loc[row, "last_inspected"] = pd.Timestamp(day)
    return frame.sort_values("uscc").reset_index(drop=True)


def chi_square_p(units: np.ndarray, hits: np.ndarray, draws: int) -> float:
    """Goodness of fit of inclusion counts to π over the entities with 0 < π < 1."""
    pi = units / UNIT
    inner = (pi > 0) & (pi < 1)
    expected = draws * pi[inner]
    statistic = float((((hits[inner] - expected) ** 2) / (expected * (1 - pi[inner]))).sum())
    return float(stats.chi2.sf(statistic, df=int(inner.sum()) - 1))


# ------------------------------------------------------------------------------------ policy


def test_the_default_policy_is_the_one_of_the_rule_set_in_force() -> None:
    terms = resolve(None, AS_OF)
    assert terms.policy.id == "heilongjiang-lindian-2024"
    assert [terms.classes[g].ratio_range for g in "ABCD"] == [(0.0, 0.05), (0.05, 0.20), (0.21, 0.60), (0.61, 1.0)]
    # less than once a year, once a year, less than twice a year, as needed
    assert [terms.classes[g].min_interval_days for g in "ABCD"] == [369, 365, 184, None]
    assert "食品" in terms.key_areas and terms.full_coverage("食品") and not terms.full_coverage(None)


@pytest.mark.parametrize(
    ("ratios", "key_area", "message"),
    [
        ({"A": 0.2}, None, "outside the range"),
        ({"A": 0.0}, None, "exempt"),
        ({}, "烟花", "not a key area"),
    ],
)
def test_plans_outside_the_policy_are_refused(ratios: dict, key_area: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(None, AS_OF, ratios, key_area)


def test_other_published_policies_are_selectable() -> None:
    terms = resolve("bayannur-2022", AS_OF)
    assert [terms.classes[g].ratio for g in "ABCD"] == [0.02, 0.05, 1.0, 1.0]
    with pytest.raises(LookupError, match="unknown sampling policy"):
        resolve("nowhere-2030", AS_OF)


# ----------------------------------------------------------------------------------- weights


def test_class_shares_follow_the_policy_and_sum_to_the_planned_size() -> None:
    people = population({"A": 400, "B": 300, "C": 200, "D": 100})
    weights = compute_weights(people, resolve(None, AS_OF), plan())
    summary = pd.DataFrame(weights.summary()).set_index("class")
    # no size given: the policy's own ratios (3 %, 10 %, 40 %, 80 %) set it: 12 + 30 + 80 + 80
    assert weights.sample_size == 202 and int(weights.frame["pi_units"].sum()) == 202 * UNIT
    assert summary["pi"].to_dict() == pytest.approx({"A": 0.03, "B": 0.10, "C": 0.40, "D": 0.80}, abs=1e-9)
    assert summary["expected_draws"].to_dict() == pytest.approx({"A": 12, "B": 30, "C": 80, "D": 80}, abs=1e-6)
    assert set(weights.frame["reason"]) == {"policy"} and summary["within_range"].all()


def test_a_larger_sample_caps_pi_at_one_and_spreads_the_excess() -> None:
    people = population({"A": 400, "B": 300, "C": 200, "D": 100})
    weights = compute_weights(people, resolve(None, AS_OF), plan(sample_size=400))
    f = weights.frame
    assert int(f["pi_units"].sum()) == 400 * UNIT and f["pi_units"].max() == UNIT
    assert (f.loc[f["sampled_as"] == "D", "reason"] == "policy_capped").all()
    # the rest keep the policy's proportions: (400 - 100) / (12 + 30 + 80) times each ratio
    scale = 300 / 122
    by_class = f.groupby("sampled_as")["pi"].mean()
    assert by_class[["A", "B", "C"]].to_numpy() == pytest.approx([0.03 * scale, 0.10 * scale, 0.40 * scale], abs=1e-8)
    # A at 7.4 %, B at 24.6 % and C at 98.4 % lie above their ranges (≤ 5 %, 5–20 %, 21–60 %): said so
    within = pd.DataFrame(weights.summary()).set_index("class")["within_range"].to_dict()
    assert within == {"A": False, "B": False, "C": False, "D": True}
    with pytest.raises(ValueError, match="cannot draw 1001 of 1000"):
        compute_weights(people, resolve(None, AS_OF), plan(sample_size=1001))


def test_a_key_area_item_gives_full_coverage() -> None:
    people = population({"A": 30, "B": 20, "D": 5})
    weights = compute_weights(people, resolve(None, AS_OF, key_area="食品"), plan(key_area="食品"))
    assert weights.sample_size == 55 and (weights.frame["pi_units"] == UNIT).all()
    assert set(weights.frame["reason"]) == {"key_area"}
    rng, _ = draw.streams("7", "salt", "hash")
    assert sorted(draw.systematic_pps(weights.frame["pi_units"].to_numpy(), rng)) == list(range(55))


def test_frequency_caps_follow_the_inspection_history() -> None:
    days = lambda n: AS_OF - timedelta(days=n)  # noqa: E731
    people = population(
        {"A": 2, "B": 2, "C": 2, "D": 1},
        last={0: days(100), 1: days(400), 2: days(300), 3: days(365), 4: days(100), 5: days(200), 6: days(1)},
    )
    weights = compute_weights(people, resolve(None, AS_OF), plan(sample_size=1))
    got = dict(zip(people.index, weights.frame["reason"]))
    # A: 369 days, B: 365, C: 184, D: as needed
    assert got == {
        0: "frequency_cap",
        1: "policy",
        2: "frequency_cap",
        3: "policy",
        4: "frequency_cap",
        5: "policy",
        6: "policy",
    }
    assert (weights.frame.loc[weights.frame["reason"] == "frequency_cap", "pi_units"] == 0).all()
    uncapped = compute_weights(people, resolve(None, AS_OF), plan(sample_size=2, frequency_caps=False))
    assert (uncapped.frame["pi_units"] > 0).all()


def test_ungraded_entities_are_sampled_as_the_regular_class() -> None:
    people = population({"A": 10, "B": 10}).assign(grade=lambda f: f["grade"].where(f.index % 2 == 0))
    weights = compute_weights(people, resolve(None, AS_OF), plan(sample_size=3))
    ungraded = weights.frame[weights.frame["grade"].isna()]
    assert (ungraded["sampled_as"] == "B").all() and (ungraded["reason"] == "ungraded").all()


def test_rounding_to_units_is_exact_and_deterministic() -> None:
    size = np.array([1 / 3, 1 / 3, 1 / 3, 2 / 7, 0, 5 / 11, 0.9, 0.9])
    units, _ = inclusion_units(size, 3)
    again, _ = inclusion_units(size, 3)
    assert int(units.sum()) == 3 * UNIT and (units <= UNIT).all() and units[4] == 0
    assert np.array_equal(units, again)


# -------------------------------------------------------------------------------------- draws


def test_each_entity_is_drawn_with_exactly_its_pi() -> None:
    """Chi-square over 4 000 draws with fixed seeds: systematic PPS matches π; the successive
    draw of Generator.choice(replace=False, p=…) on the same frame does not."""
    people = population({"A": 12, "B": 10, "C": 6, "D": 4})
    units = compute_weights(people, resolve(None, AS_OF), plan(sample_size=10)).frame["pi_units"].to_numpy()
    draws = 4000
    hits = np.zeros(len(units))
    choice_hits = np.zeros(len(units))
    for seed in range(draws):
        rng, _ = draw.streams(str(seed), "fixed-salt", "fixed-frame")
        picked = draw.systematic_pps(units, rng)
        assert len(picked) == 10 and len(set(picked.tolist())) == 10
        hits[picked] += 1
        choice_hits[rng.choice(len(units), 10, replace=False, p=units / units.sum())] += 1
    assert (units == UNIT).sum() == 4 and hits[units == UNIT].min() == draws  # D capped at 1: always drawn
    assert chi_square_p(units, hits, draws) > 0.01
    assert chi_square_p(units, choice_hits, draws) < 1e-6


def test_the_sample_follows_the_class_shares_of_the_policy() -> None:
    people = population({"A": 3000, "B": 2000, "C": 1000, "D": 500})
    weights = compute_weights(people, resolve(None, AS_OF), plan())
    rng, _ = draw.streams("2026", "salt", "frame")
    drawn = weights.frame.iloc[draw.systematic_pps(weights.frame["pi_units"].to_numpy(), rng)]
    counts = drawn["sampled_as"].value_counts().to_dict()
    expected = {"A": 90, "B": 200, "C": 400, "D": 400}
    assert sum(counts.values()) == weights.sample_size == 1090
    for grade, n in expected.items():  # the random order makes class counts nearly fixed
        assert abs(counts[grade] - n) <= 4 * np.sqrt(n)


def test_the_canonical_frame_round_trips_and_rejects_anything_else() -> None:
    keys = np.array([b"K01", b"K02", b"K03"])
    units = np.array([UNIT, 250_000_000, 750_000_000])
    data = draw.canonical_frame(keys, units)
    assert data == b"K01,1.000000000\nK02,0.250000000\nK03,0.750000000\n"
    back_keys, back_units = draw.parse_frame(data)
    assert back_keys.tolist() == keys.tolist() and back_units.tolist() == units.tolist()
    for bad in (data.replace(b"K02", b"K04"), data.replace(b"0.25", b"0,25"), data.replace(b"1.0", b"2.0")):
        with pytest.raises(ValueError, match="not a canonical frame"):
            draw.parse_frame(bad)
    with pytest.raises(ValueError, match="sorted"):
        draw.canonical_frame(keys[::-1], units)


def _published(seed: str = "20260701", salt: str = "a1b2") -> tuple[bytes, str, str, str, list[str]]:
    people = population({"A": 50, "B": 40, "C": 20, "D": 10})
    units = compute_weights(people, resolve(None, AS_OF), plan()).frame["pi_units"].to_numpy()
    frame = draw.canonical_frame(people["uscc"].to_numpy(dtype="S"), units)
    return frame, seed, salt, draw.commitment(seed, salt), draw.draw_keys(frame, seed, salt)


def test_verify_reproduces_the_draw_and_detects_a_changed_frame_or_seed() -> None:
    frame, seed, salt, commitment, sample = _published()
    assert draw.verify(frame, seed, salt, commitment, draw.sha256(frame), sample).ok
    assert draw.draw_keys(frame, seed, salt) == sample  # reproducible

    keys, units = draw.parse_frame(frame)
    moved = units.copy()  # one unit of π moved between two entities: Σπ unchanged
    moved[0], moved[1] = moved[0] + 1, moved[1] - 1
    changed = draw.verify(draw.canonical_frame(keys, moved), seed, salt, commitment, draw.sha256(frame), sample)
    assert not changed.ok and not changed.frame_hash_matches and changed.commitment_matches

    other = draw.verify(frame, "20260702", salt, commitment, draw.sha256(frame), sample)
    assert not other.ok and not other.commitment_matches and not other.sample_matches

    swapped = draw.verify(frame, seed, salt, commitment, draw.sha256(frame), sample[1:] + sample[:1])
    assert not swapped.ok and swapped.frame_hash_matches and not swapped.sample_matches


def test_blinded_keys_open_only_with_their_opening() -> None:
    usccs = np.array([make_uscc(i) for i in range(3)])
    key = blinding.new_key()
    opened = blinding.openings(key, usccs)
    tokens = blinding.tokens(usccs, opened)
    assert len(set(tokens.tolist())) == 3 and all(len(t) == 32 for t in tokens)
    assert blinding.token(usccs[0], opened[0]) == tokens[0] != blinding.token(usccs[1], opened[0])
    assert not np.array_equal(blinding.openings(blinding.new_key(), usccs), opened)  # a key per draw


# --------------------------------------------------------------------------------- inspectors


def _pool(size: int, authorities: tuple[str, ...] = ("道里分局", "南岗分局")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": [f"I{i:03d}" for i in range(size)],
            "authority": [authorities[i % len(authorities)] for i in range(size)],
            "conflicts": [frozenset() for _ in range(size)],
        }
    )


def test_inspector_loads_are_balanced_and_reproducible() -> None:
    drawn = pd.DataFrame({"uscc": [make_uscc(i) for i in range(95)], "authority": "道里分局"})
    assigned = inspectors.assign(drawn, _pool(10), 2, False, np.random.default_rng(1))
    loads = pd.Series([c for pair in assigned for c in pair]).value_counts()
    assert len(loads) == 10 and loads.max() - loads.min() <= 1
    assert all(len(set(pair)) == 2 for pair in assigned)
    assert assigned == inspectors.assign(drawn, _pool(10), 2, False, np.random.default_rng(1))
    assert assigned != inspectors.assign(drawn, _pool(10), 2, False, np.random.default_rng(2))


def test_recusal_own_authority_last_inspectors_and_declared_conflicts() -> None:
    drawn = pd.DataFrame({"uscc": [make_uscc(i) for i in range(40)], "authority": "道里分局"})
    pool = _pool(12)
    pool.loc[1, "conflicts"] = frozenset({make_uscc(0)})
    last = {make_uscc(0): ["I003", "I005"]}
    assigned = inspectors.assign(drawn, pool, 2, True, np.random.default_rng(3), last)
    home = set(pool.loc[pool["authority"] == "道里分局", "code"])
    assert not any(home & set(pair) for pair in assigned)  # cross-assignment
    assert set(assigned[0]) < {"I007", "I009", "I011"}  # not the conflict I001, not the last I003, I005
    with pytest.raises(inspectors.NoEligibleInspector, match="1 of 12 inspectors remain"):
        inspectors.assign(
            drawn.head(1), pool, 2, True, np.random.default_rng(3), {make_uscc(0): ["I003", "I005", "I007", "I009"]}
        )


def test_a_joint_inspection_sends_an_inspector_of_every_department() -> None:
    drawn = pd.DataFrame({"uscc": [make_uscc(i) for i in range(30)], "authority": "道里分局"})
    pool = _pool(12).assign(department=["市场监管局"] * 8 + ["卫生健康委", "卫生健康委", "应急管理局", "应急管理局"])
    assigned = inspectors.assign(drawn, pool, 3, False, np.random.default_rng(4))
    of = dict(zip(pool["code"], pool["department"]))
    assert all({of[c] for c in trio} == {"市场监管局", "卫生健康委", "应急管理局"} for trio in assigned)
    loads = pd.Series([c for trio in assigned for c in trio if of[c] == "卫生健康委"]).value_counts()
    assert loads.max() - loads.min() <= 1  # balanced within each department too
    with pytest.raises(inspectors.NoEligibleInspector, match="no inspector of 应急管理局 remains"):
        inspectors.assign(drawn.head(1), pool, 3, False, np.random.default_rng(4), {make_uscc(0): ["I010", "I011"]})
    with pytest.raises(inspectors.NoEligibleInspector, match="needs at least 3 inspectors per entity"):
        inspectors.assign(drawn, pool, 2, False, np.random.default_rng(4))
    with pytest.raises(ValueError, match="inspectors_per_entity must be at least 3"):
        Plan(
            title="联合抽查",
            item="食品安全检查",
            departments=("市场监管局", "卫生健康委", "应急管理局"),
            as_of=date(2026, 6, 30),
            sample_size=5,
        )


def test_a_plan_reads_from_toml_with_its_inspectors(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(
        'title = "食品抽查"\nitem = "食品经营检查"\nkey_area = "食品"\ndepartments = ["市场监管局"]\n'
        'as_of = 2026-06-30\nsample_size = 5\n[scope]\nregions = ["2301"]\n'
        '[[inspectors]]\ncode = "I1"\nname = "张三"\ndepartment = "市场监管局"\n',
        encoding="utf-8",
    )
    read, pool = load_plan(path)
    assert read.key_area == "食品" and read.scope.regions == ("2301",) and read.as_of == AS_OF
    assert [i.code for i in pool] == ["I1"]
    with pytest.raises(ValueError, match="not both"):
        plan(sample_size=3, base_ratio=0.1)

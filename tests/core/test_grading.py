"""Cut-offs, direct judgements with their legal basis, and reason codes."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from credit_engine.features import FEATURES, feature_names
from credit_engine.grading.classes import CutOffs, grade, reason_codes
from credit_engine.rules import rules_for

RULES = rules_for(date(2026, 6, 30))


def frame(**columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {name: np.zeros(n) for name in feature_names()}
    base["age_years"] = np.full(n, 5.0)
    return pd.DataFrame({**base, **{k: np.asarray(v, dtype=float) for k, v in columns.items()}})


def test_cutoffs_from_shares_give_the_shares() -> None:
    p = np.linspace(0, 1, 1001)[:-1]
    cut = CutOffs.from_shares(p, (0.3, 0.45, 0.17, 0.08))
    shares = pd.Series(cut.classes(p)).value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx({"A": 0.3, "B": 0.45, "C": 0.17, "D": 0.08}, abs=0.002)
    assert list(CutOffs((0.1, 0.2, 0.3)).classes(np.array([0.05, 0.1, 0.25, 0.9]))) == ["A", "B", "C", "D"]
    with pytest.raises(ValueError, match="must rise"):
        CutOffs((0.3, 0.2, 0.4))
    with pytest.raises(ValueError, match="adding up to 1"):
        CutOffs.from_shares(p, (0.5, 0.5, 0.5, 0.1))


def test_direct_judgements_force_or_raise_the_class_with_their_basis() -> None:
    features = frame(
        serious_active=[1, 0, 0, 0, 0, 0],
        abnormal_active=[0, 1, 1, 0, 0, 1],
        legal_rep_court_listed=[0, 0, 0, 1, 0, 0],
        age_years=[5, 5, 5, 5, 0.5, 0.5],
    )
    p = np.array([0.01, 0.01, 0.99, 0.01, 0.99, 0.01])
    out = grade(features, p, CutOffs((0.1, 0.2, 0.3)), RULES)
    assert list(out["model_grade"]) == ["A", "A", "D", "A", "D", "A"]
    assert list(out["grade"]) == ["D", "C", "D", "C", "B", "C"]  # too new forces B, but a listing's floor wins
    reasons = [json.loads(text) for text in out["reasons_json"]]
    serious = [r for r in reasons[0] if r["kind"] == "judgement"]
    assert serious[0]["code"] == "serious_list" and "严重违法失信名单" in serious[0]["basis"]
    assert serious[0]["rule_set"] == RULES.id
    assert reasons[2][0] == {
        "kind": "score",
        "code": "band_D",
        "effect": "class D",
        "basis": "probability 0.9900 in [0.3000, 1.0000): 信用风险高",
    }
    assert [r["code"] for r in reasons[5]] == [
        "band_A",
        "abnormal_list",
        "too_new",
    ]  # the band first, then the rules' order
    assert [r["code"] for r in reasons[3]] == ["band_A", "legal_rep_court_listed"]
    assert grade(features.iloc[:0], p[:0], CutOffs((0.1, 0.2, 0.3)), RULES).empty


def test_reason_codes_name_the_indicators_that_raised_the_risk() -> None:
    contributions = np.zeros(len(FEATURES))
    values = np.zeros(len(FEATURES))
    names = feature_names()
    contributions[names.index("penalties_3y")], values[names.index("penalties_3y")] = 0.8, 3
    contributions[names.index("tax_grade")], values[names.index("tax_grade")] = 0.2, np.nan
    contributions[names.index("age_years")] = -0.5
    codes = reason_codes(contributions, values)
    assert [c["code"] for c in codes] == ["penalties_3y", "tax_grade"]  # nothing that lowered the risk
    assert codes[0]["zh"].startswith("近3年行政处罚次数（监管信息）= 3") and "raises the risk" in codes[0]["en"]
    assert "缺失" in codes[1]["zh"]


def test_reason_codes_follow_the_model_s_own_columns() -> None:
    """A model's columns need not be the catalogue's, nor in its order (an older catalogue, an
    analyst's own indicator): each contribution is named by the column it belongs to."""
    names = ["court_5y", "own_indicator", "penalties_3y"]
    codes = reason_codes(np.array([0.1, 0.5, 0.3]), np.array([1.0, 7.0, 2.0]), names=names)
    assert [c["code"] for c in codes] == ["own_indicator", "penalties_3y", "court_5y"]
    assert codes[0]["zh"] == "own_indicator = 7，提高风险" and codes[0]["en"] == "own_indicator = 7 raises the risk"
    assert codes[1]["zh"].startswith("近3年行政处罚次数（监管信息）= 2")

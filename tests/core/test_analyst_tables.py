"""An analyst's table as analysts have it: label spellings, identifier columns, encodings; and
the two models as scikit-learn estimators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from credit_engine.scoring import lifecycle, tables
from credit_engine.scoring.models import RiskModel, ScorecardModel


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        (["bad", "good"], "bad"),
        (["Bad", "Good"], "Bad"),
        (["Y", "N"], "Y"),
        (["yes", "no"], "yes"),
        (["是", "否"], "是"),
        ([1, 0], "1"),
        ([1.0, 0.0], "1"),
        ([True, False], "true"),
        (["default", "non-default"], "default"),
        (["违约", "正常"], "违约"),
        (["违约", "normal"], "违约"),
    ],
)
def test_each_label_spelling_is_read_with_its_bad_value_guessed(values: list, positive: str) -> None:
    """``values``: the bad value first."""
    table = pd.DataFrame({"y": [values[0], values[1], values[1], values[0]], "x": [1, 2, 3, 4]})
    label, y = tables.label_of(table, "y")
    assert label.positive == positive and label.guessed
    assert list(y) == [1, 0, 0, 1]


def test_an_ambiguous_label_is_refused_unless_told_which_value_is_bad() -> None:
    table = pd.DataFrame({"y": ["A", "B", "B", "A"]})
    refused = r"cannot tell which value of y is the bad outcome \(A / B\): say it with --positive"
    with pytest.raises(ValueError, match=refused):
        tables.label_of(table, "y")
    label, y = tables.label_of(table, "y", positive="B")
    assert (label.positive, label.negative, label.guessed) == ("B", "A", False) and list(y) == [0, 1, 1, 0]
    both_bad = pd.DataFrame({"y": ["bad", "default"]})
    with pytest.raises(ValueError, match="cannot tell"):
        tables.label_of(both_bad, "y")
    with pytest.raises(ValueError, match="--positive C is not a value of y"):
        tables.label_of(table, "y", positive="C")
    with pytest.raises(ValueError, match="exactly two values, it holds 3"):
        tables.label_of(pd.DataFrame({"y": ["a", "b", "c"]}), "y")
    with pytest.raises(ValueError, match="1 empty values"):
        tables.label_of(pd.DataFrame({"y": ["bad", None, "good"]}), "y")


def test_identifier_columns_are_left_out_unless_kept() -> None:
    n = 50
    X = pd.DataFrame(
        {
            "客户编号": [f"K{i}" for i in range(n)],
            "loan_no": range(n),
            "serial": range(100, 100 + n),
            "uscc": ["9123"] * n,
            "number_of_credits": [i % 3 for i in range(n)],
            "amount": np.linspace(0.5, 99.7, n),
            "sector": ["食品", "药品"] * (n // 2),
        }
    )
    left_out = tables.identifier_columns(X)
    assert left_out == {
        "客户编号": "named like an identifier",
        "loan_no": "named like an identifier",
        "serial": "unique in every row",
        "uscc": "named like an identifier",
    }
    assert "serial" not in tables.identifier_columns(X, keep=("serial",))


def test_a_table_s_id_column_never_reaches_the_features() -> None:
    rows = pd.DataFrame({"id": range(40), "x": [i % 5 for i in range(40)], "bad": ["bad", "good"] * 20})
    X, y, label, left_out = lifecycle.table_rows(rows, "bad")
    assert list(X.columns) == ["x"] and left_out == {"id": "named like an identifier"}
    assert label.positive == "bad" and y.sum() == 20
    X, *_ = lifecycle.table_rows(rows, "bad", keep=("id",))
    assert list(X.columns) == ["id", "x"]
    with pytest.raises(ValueError, match="no feature column is left"):
        lifecycle.table_rows(rows[["id", "bad"]], "bad")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030_and_parquet_are_read(tmp_path: Path, encoding: str) -> None:
    frame = pd.DataFrame({"行业": ["食品", "药品"], "违约": ["是", "否"]})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    pd.testing.assert_frame_equal(tables.read_table(path), frame)
    frame.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(tables.read_table(tmp_path / "t.parquet"), frame)


@pytest.mark.parametrize("make", [RiskModel, ScorecardModel])
def test_the_models_are_scikit_learn_estimators(make) -> None:
    name = make.__name__
    check_parameters_default_constructible(name, make())
    check_no_attributes_set_in_init(name, make())
    check_get_params_invariance(name, make())
    check_set_params(name, make())
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = (rng.random(400) < 1 / (1 + np.exp(-2 * X["a"]))).astype(int)
    model = clone(make()).set_params(**({"min_child_samples": 20} if make is RiskModel else {}))
    fitted = model.fit(X, y, sample_weight=np.ones(400))
    p = fitted.predict_proba(X)
    assert fitted is model and p.shape == (400, 2) and list(fitted.classes_) == [0, 1]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.corrcoef(p[:, 1], X["a"])[0, 1] > 0.5 and set(fitted.predict(X)) <= {0, 1}
    assert clone(fitted).get_params() == fitted.get_params() and not hasattr(clone(fitted), "classes_")
    plain = clone(model).fit(X.to_numpy(), y)  # a plain matrix, as scikit-learn's own tools pass
    np.testing.assert_allclose(plain.predict_proba(X.to_numpy()), p, atol=1e-6 if make is ScorecardModel else 0.05)


def test_inner_folds_choose_smaller_trees_on_a_small_noisy_table() -> None:
    from credit_engine.scoring.tuning import choose_by_inner_cv

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(300, 6)), columns=list("abcdef"))
    y = (rng.random(300) < 1 / (1 + np.exp(-X["a"]))).astype(int)
    model, tried = choose_by_inner_cv(X, y, folds=3)
    assert len(tried) == 8 and tried["inner_auc"].between(0.4, 1).all()
    best = tried.iloc[tried["inner_auc"].to_numpy().argmax()]
    assert model.num_leaves == best["num_leaves"] and model.n_estimators == max(1, round(best["rounds"]))
    assert model.n_estimators < 1000  # early stopping ended the rounds well before the most allowed

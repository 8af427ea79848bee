"""LightGBM's complexity chosen on rows the model does not learn from.

From the store, on the time-based validation (``choose_on_time``): each candidate learns on the
earlier dates, its rounds stop early on the later ones, and the best validation AUC wins. From an
analyst's table, by inner cross-validation (``choose_by_inner_cv``): inside each outer fold the
candidates are compared on inner folds of that fold's rows only, so the outer AUC judges the
whole procedure, choice included, on rows it never saw.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from credit_engine.scoring import metrics
from credit_engine.scoring.models import RiskModel

#: Candidates for the store's model: a province gives tens of thousands of rows per spine.
STORE_GRID = (
    {"num_leaves": 15, "min_child_samples": 100, "reg_lambda": 0.0},
    {"num_leaves": 31, "min_child_samples": 200, "reg_lambda": 5.0},
    {"num_leaves": 7, "min_child_samples": 300, "reg_lambda": 0.0},
)
STORE_BASE: dict[str, Any] = {"learning_rate": 0.05, "n_estimators": 600, "colsample": 0.8}
#: One thread: on a table of thousands of rows starting a thread team costs more than it saves.
TABLE_BASE: dict[str, Any] = {"learning_rate": 0.05, "n_estimators": 1000, "colsample": 0.7, "threads": 1}


def table_grid(rows: int) -> list[dict]:
    """Small trees and large leaves for small tables: the minimum rows per leaf grows with the table."""
    smallest = max(5, rows // 200)
    return [
        {"num_leaves": leaves, "min_child_samples": child, "reg_lambda": lam}
        for leaves, child, lam in product((4, 16), (smallest, 4 * smallest), (0.0, 10.0))
    ]


def choose_on_time(
    X: pd.DataFrame,
    y: np.ndarray,
    weight: np.ndarray,
    valid_X: pd.DataFrame,
    valid_y: np.ndarray,
    valid_weight: np.ndarray,
    categorical: tuple[str, ...] = (),
    grid: tuple[dict, ...] = STORE_GRID,
) -> tuple[RiskModel, pd.DataFrame]:
    """The unfitted model of the candidate with the best validation AUC, its rounds fixed to
    where they stopped, and every candidate's figures."""
    tried = []
    for candidate in grid:
        model = RiskModel(**STORE_BASE, **candidate, categorical=categorical).fit(
            X, y, weight, calibration=(valid_X, valid_y, valid_weight), stop_on=(valid_X, valid_y, valid_weight)
        )
        tried.append(
            {
                **candidate,
                "rounds": model.rounds_,
                "valid_auc": metrics.auc(valid_y, model.raw_proba(valid_X), valid_weight),
            }
        )
    table = pd.DataFrame(tried)
    best = table.iloc[int(table["valid_auc"].to_numpy().argmax())]
    chosen = {
        "num_leaves": int(best["num_leaves"]),
        "min_child_samples": int(best["min_child_samples"]),
        "reg_lambda": float(best["reg_lambda"]),
        "n_estimators": int(best["rounds"]),
    }
    return RiskModel(**(STORE_BASE | chosen), categorical=categorical), table


def choose_by_inner_cv(
    X: pd.DataFrame,
    y: np.ndarray,
    categorical: tuple[str, ...] = (),
    folds: int = 3,
    seed: int = 7,
    groups: np.ndarray | None = None,
) -> tuple[RiskModel, pd.DataFrame]:
    """The unfitted model of the candidate with the best mean AUC over inner folds of these rows,
    its rounds the mean of where early stopping ended them in those folds."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    splitter = StratifiedGroupKFold if groups is not None else StratifiedKFold
    splits = list(splitter(folds, shuffle=True, random_state=seed).split(X, y, groups))
    tried = []
    for candidate in table_grid(len(y)):
        aucs, rounds = [], []
        for fit, held in splits:
            held_rows = (X.iloc[held], y[held], None)
            model = RiskModel(**TABLE_BASE, **candidate, categorical=categorical, seed=seed).fit(
                X.iloc[fit], y[fit], stop_on=held_rows
            )
            aucs.append(metrics.auc(y[held], model.raw_proba(X.iloc[held])))
            rounds.append(model.rounds_)
        tried.append({**candidate, "rounds": float(np.mean(rounds)), "inner_auc": float(np.mean(aucs))})
    table = pd.DataFrame(tried)
    best = table.iloc[int(table["inner_auc"].to_numpy().argmax())]
    chosen = {
        "num_leaves": int(best["num_leaves"]),
        "min_child_samples": int(best["min_child_samples"]),
        "reg_lambda": float(best["reg_lambda"]),
        "n_estimators": max(1, int(round(best["rounds"]))),
    }
    return RiskModel(**(TABLE_BASE | chosen), categorical=categorical, seed=seed), table

"""Discrimination, calibration and stability measures reported before a model is promoted."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

#: Keeps empty bins from making PSI infinite.
EPSILON = 1e-4


def auc(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    return float(roc_auc_score(y, p, sample_weight=weight))


def ks(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of the two outcomes."""
    fpr, tpr, _ = roc_curve(y, p, sample_weight=weight)
    return float(np.max(tpr - fpr))


def brier(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None) -> float:
    return float(brier_score_loss(y, p, sample_weight=weight))


def psi_shares(expected: pd.Series, actual: pd.Series) -> float:
    """Population stability index between two share distributions over the same bins."""
    e, a = expected.align(actual, fill_value=0.0)
    e, a = np.clip(e.to_numpy(dtype=float), EPSILON, None), np.clip(a.to_numpy(dtype=float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_scores(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI of two score samples over the deciles of ``expected``."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    share = lambda s: pd.Series(np.bincount(np.searchsorted(edges, s, side="right"), minlength=len(edges) + 1) / len(s))
    return psi_shares(share(expected), share(actual))


def calibration_table(y: np.ndarray, p: np.ndarray, weight: np.ndarray | None = None, bins: int = 10) -> pd.DataFrame:
    """Mean predicted against observed rate per decile of the prediction."""
    w = np.ones_like(p) if weight is None else weight
    decile = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    frame = pd.DataFrame({"bin": decile, "p": p * w, "y": y * w, "w": w}).groupby("bin").sum()
    return pd.DataFrame(
        {"predicted": frame["p"] / frame["w"], "observed": frame["y"] / frame["w"], "weight": frame["w"]}
    )

"""The two risk models, trained on the same rows: LightGBM (the graded one) and an optbinning
scorecard with PDO points (the interpretable check). Both follow scikit-learn's habits: params
in ``__init__``, learning in ``fit``, fitted state ending in ``_``."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from credit_engine.features import FEATURES
from credit_engine.scoring.training import TrainingSet

_TREND = {1: "ascending", -1: "descending", 0: "auto"}
_CATALOGUE = {f.name: f for f in FEATURES}


def _direction(column: str) -> int:
    """The catalogue's expected direction; columns it does not know get none."""
    known = _CATALOGUE.get(column)
    return known.direction if known and not known.categorical else 0


def _categorical(columns: list[str], extra: tuple[str, ...]) -> list[str]:
    return [c for c in columns if c in extra or (c in _CATALOGUE and _CATALOGUE[c].categorical)]


def _text_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def _as_text(values: pd.Series) -> pd.Series:
    """Category values as text, a whole number written without its ".0": a column of codes that
    arrives as floats (a blank makes 1 into 1.0) still names the categories it was trained on."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == numbers.round())
    text = values.astype("string")
    return text.mask(whole, numbers[whole].astype("Int64").astype("string"))


def _codes(values: pd.Series, categories: pd.Index) -> np.ndarray:
    """Each value's position among ``categories``; missing or unseen values are NaN."""
    codes = categories.get_indexer(_as_text(values)).astype(float)
    codes[codes < 0] = np.nan
    return codes


#: Below this many rows LightGBM predicts on one thread: starting an OpenMP team costs more than
#: it saves, and its spinning threads compete with a server's (one-row ``pred_contrib``:
#: 1.1 ms on the model's two threads, 0.3 ms on one, measured).
FEW_ROWS = 64


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class RiskModel:
    """LightGBM, monotone in every indicator whose direction the catalogue knows, with its raw
    probabilities calibrated (Platt scaling, which keeps the ranking) on a later period."""

    def __init__(self, n_estimators: int = 150, num_leaves: int = 15, learning_rate: float = 0.03,
                 min_child_samples: int = 100, monotone: bool = True, seed: int = 7, threads: int = 2,
                 categorical: tuple[str, ...] = ()) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.monotone = monotone
        self.seed = seed
        self.threads = threads
        self.categorical = categorical

    def params(self) -> dict:
        return {
            "objective": "binary", "num_leaves": self.num_leaves, "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples, "seed": self.seed, "deterministic": True,
            "num_threads": self.threads, "verbose": -1, "n_estimators": self.n_estimators,
        }

    def fit(self, train: TrainingSet, calibration: TrainingSet) -> "RiskModel":
        """Columns are numeric, or text taken as categories: the model keeps each text column's
        categories and codes them itself, so the raw rows of an analyst's table score the same
        after a reload (a category unseen in training scores as missing). The catalogue's
        indicators get its directions as monotone constraints, other columns none."""
        self.columns_ = list(train.X.columns)
        self.categories_ = {c: pd.Index(_as_text(train.X[c].dropna()).unique()) for c in _text_columns(train.X)}
        self.categorical_ = _categorical(self.columns_, self.categorical + tuple(self.categories_))
        self.monotone_ = [0 if c in self.categorical_ or not self.monotone else _direction(c) for c in self.columns_]
        params = {k: v for k, v in self.params().items() if k != "n_estimators"}
        data = lgb.Dataset(self._matrix(train.X), train.y, weight=train.weight, feature_name=self.columns_,
                           categorical_feature=self.categorical_)
        self.booster_ = lgb.train({**params, "monotone_constraints": self.monotone_}, data,
                                  num_boost_round=self.n_estimators)
        raw = _logit(self.booster_.predict(self._matrix(calibration.X))).reshape(-1, 1)
        self.calibrator_ = LogisticRegression().fit(raw, calibration.y, sample_weight=calibration.weight)
        return self

    def held_out_proba(self, calibration: TrainingSet, groups: np.ndarray, folds: int = 5) -> np.ndarray:
        """Calibrated probabilities of the calibration rows, each from a calibrator fitted on the
        other entities' rows: the Brier score and calibration table of rows the calibrator never
        saw (``calibrator_`` itself learns from them all)."""
        from sklearn.model_selection import StratifiedGroupKFold

        holders = min(len(np.unique(groups[calibration.y == outcome])) for outcome in (0, 1))
        if holders < 2:
            raise ValueError("calibration rows must hold each outcome in at least 2 entities to be judged "
                             f"on entities they did not see (one outcome is in {holders})")
        raw = _logit(self.raw_proba(calibration.X)).reshape(-1, 1)
        out = np.empty(len(raw))
        split = StratifiedGroupKFold(min(folds, holders), shuffle=True, random_state=self.seed)
        for fit, held in split.split(raw, calibration.y, groups):
            platt = LogisticRegression().fit(raw[fit], calibration.y[fit], sample_weight=calibration.weight[fit])
            out[held] = platt.predict_proba(raw[held])[:, 1]
        return out

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            return X
        frame = X[self.columns_]
        # models pickled before text columns were coded by the model have no categories_
        categories = getattr(self, "categories_", {})
        if categories:
            frame = frame.assign(**{c: _codes(frame[c], cats) for c, cats in categories.items()})
        return frame.to_numpy(dtype=float)

    def _predict(self, X: pd.DataFrame | np.ndarray, **kwargs: bool) -> np.ndarray:
        matrix = self._matrix(X)
        threads = {"num_threads": 1} if len(matrix) < FEW_ROWS else {}
        return self.booster_.predict(matrix, **threads, **kwargs)

    def raw_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self._predict(X)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability that an inspection in the next 12 months finds a problem."""
        return self.calibrate(self.raw_proba(X))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return self.calibrator_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per-feature contributions to the raw log-odds (last column: the expected value)."""
        return self._predict(X, pred_contrib=True)


class ScorecardModel:
    """optbinning: monotone binning per indicator (the catalogue's direction), logistic regression
    on the weights of evidence, points scaled so that ``pdo`` points double the odds of no problem."""

    def __init__(self, pdo: float = 20.0, odds: float = 50.0, base_points: float = 600.0, max_n_bins: int = 5,
                 categorical: tuple[str, ...] = ()) -> None:
        self.pdo = pdo
        self.odds = odds
        self.base_points = base_points
        self.max_n_bins = max_n_bins
        self.categorical = categorical

    def fit(self, train: TrainingSet) -> "ScorecardModel":
        from optbinning import BinningProcess, Scorecard

        self.columns_ = names = list(train.X.columns)
        categorical = _categorical(names, self.categorical)
        fit_params = {c: {"monotonic_trend": _TREND[_direction(c)]} for c in names if c not in categorical}
        process = BinningProcess(names, categorical_variables=categorical,
                                 max_n_bins=self.max_n_bins, binning_fit_params=fit_params)
        self.scorecard_ = Scorecard(
            process, LogisticRegression(max_iter=1000), scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.pdo, "odds": self.odds, "scorecard_points": self.base_points},
        ).fit(train.X, train.y, sample_weight=train.weight)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.scorecard_.predict_proba(X[self.columns_])[:, 1]

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Total points: higher means lower risk, as on a credit scorecard."""
        return self.scorecard_.score(X[self.columns_])

    def table(self) -> pd.DataFrame:
        return self.scorecard_.table(style="detailed")

"""The two risk models, trained on the same rows: LightGBM (the graded one) and an optbinning
scorecard with PDO points (the interpretable check). Both are scikit-learn classifiers (params in
``__init__``, learning in ``fit(X, y, sample_weight)``, fitted state ending in ``_``,
``predict_proba`` of shape (n, 2)); ``risk`` is the probability of a problem alone."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from credit_engine.features import FEATURES

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


Rows = tuple  # (X, y, sample_weight or None): a held-out set a model is calibrated or stopped on


def _frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """A plain matrix gets the column names scikit-learn's own checks expect (x0, x1, ...)."""
    return (
        X
        if isinstance(X, pd.DataFrame)
        else pd.DataFrame(np.asarray(X), columns=[f"x{i}" for i in range(np.asarray(X).shape[1])])
    )


def _check_binary(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError(f"labels must be 0 and 1 (1: a problem), got {sorted(map(str, np.unique(y)))[:5]}")
    return y.astype(int)


class RiskModel(ClassifierMixin, BaseEstimator):
    """LightGBM, monotone in every indicator whose direction the catalogue knows, with its raw
    probabilities calibrated (Platt scaling, which keeps the ranking) on a later period.

    A scikit-learn classifier of the labels 0 (no problem) and 1 (a problem): ``fit(X, y,
    sample_weight)``, ``predict_proba`` of shape (n, 2), parameters through ``get_params``."""

    def __init__(
        self,
        n_estimators: int = 150,
        num_leaves: int = 15,
        learning_rate: float = 0.03,
        min_child_samples: int = 100,
        reg_lambda: float = 0.0,
        colsample: float = 1.0,
        monotone: bool = True,
        seed: int = 7,
        threads: int = 2,
        categorical: tuple[str, ...] = (),
    ) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.colsample = colsample
        self.monotone = monotone
        self.seed = seed
        self.threads = threads
        self.categorical = categorical

    def params(self) -> dict:
        """LightGBM's own parameters (logged with every run)."""
        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "feature_fraction": self.colsample,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": self.threads,
            "verbose": -1,
            "n_estimators": self.n_estimators,
        }

    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        calibration: Rows | None = None,
        stop_on: Rows | None = None,
    ) -> RiskModel:
        """Columns are numeric, or text taken as categories: the model keeps each text column's
        categories and codes them itself, so the raw rows of an analyst's table score the same
        after a reload (a category unseen in training scores as missing). The catalogue's
        indicators get its directions as monotone constraints, other columns none.

        ``calibration`` (X, y, weight): the rows the Platt scaling learns on, a later period;
        without it, the training rows. ``stop_on`` (X, y, weight): rounds stop when these rows'
        log-loss has not improved for 30 rounds (``n_estimators`` is then the most)."""
        X = _frame(X)
        y = _check_binary(y)
        self.classes_ = np.array([0, 1])
        self.columns_ = list(X.columns)
        self.n_features_in_ = len(self.columns_)
        self.categories_ = {c: pd.Index(_as_text(X[c].dropna()).unique()) for c in _text_columns(X)}
        self.categorical_ = _categorical(self.columns_, tuple(self.categorical) + tuple(self.categories_))
        self.monotone_ = [0 if c in self.categorical_ or not self.monotone else _direction(c) for c in self.columns_]
        params = {k: v for k, v in self.params().items() if k != "n_estimators"}
        data = lgb.Dataset(
            self._matrix(X),
            y,
            weight=sample_weight,
            feature_name=[str(c) for c in self.columns_],
            categorical_feature=[str(c) for c in self.categorical_],
        )
        extra: dict = {}
        if stop_on is not None:
            sx, sy, sw = stop_on
            extra = {
                "valid_sets": [data.create_valid(self._matrix(_frame(sx)), _check_binary(sy), weight=sw)],
                "callbacks": [lgb.early_stopping(30, verbose=False)],
            }
        self.booster_ = lgb.train(
            {**params, "monotone_constraints": self.monotone_}, data, num_boost_round=self.n_estimators, **extra
        )
        if stop_on is not None and self.booster_.best_iteration > 0:
            self.booster_ = lgb.Booster(
                model_str=self.booster_.model_to_string(num_iteration=self.booster_.best_iteration)
            )
        self.rounds_ = self.booster_.current_iteration()
        cx, cy, cw = calibration if calibration is not None else (X, y, sample_weight)
        raw = _logit(self.booster_.predict(self._matrix(_frame(cx)))).reshape(-1, 1)  # type: ignore[arg-type]  # lightgbm stub: a dense matrix predicts an array
        self.calibrator_ = LogisticRegression().fit(raw, _check_binary(cy), sample_weight=cw)
        return self

    def held_out_proba(
        self, X: pd.DataFrame, y: np.ndarray, sample_weight: np.ndarray | None, groups: np.ndarray, folds: int = 5
    ) -> np.ndarray:
        """Calibrated probabilities of the calibration rows, each from a calibrator fitted on the
        other entities' rows: the Brier score and calibration table of rows the calibrator never
        saw (``calibrator_`` itself learns from them all)."""
        from sklearn.model_selection import StratifiedGroupKFold

        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        holders = min(len(np.unique(groups[y == outcome])) for outcome in (0, 1))
        if holders < 2:
            raise ValueError(
                "calibration rows must hold each outcome in at least 2 entities to be judged "
                f"on entities they did not see (one outcome is in {holders})"
            )
        raw = _logit(self.raw_proba(X)).reshape(-1, 1)
        out = np.empty(len(raw))
        split = StratifiedGroupKFold(min(folds, holders), shuffle=True, random_state=self.seed)
        for fit, held in split.split(raw, y, groups):
            platt = LogisticRegression().fit(raw[fit], y[fit], sample_weight=weight[fit])
            out[held] = platt.predict_proba(raw[held])[:, 1]
        return out

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            return np.asarray(X, dtype=float)
        frame = X[self.columns_]
        # models pickled before text columns were coded by the model have no categories_
        categories = getattr(self, "categories_", {})
        if categories:
            frame = frame.assign(**{c: _codes(frame[c], cats) for c, cats in categories.items()})
        return frame.to_numpy(dtype=float)

    def _predict(self, X: pd.DataFrame | np.ndarray, **kwargs: bool) -> np.ndarray:
        matrix = self._matrix(X)
        threads: dict[str, Any] = {"num_threads": 1} if len(matrix) < FEW_ROWS else {}
        return self.booster_.predict(matrix, **threads, **kwargs)  # type: ignore[return-value]  # lightgbm stub: a dense matrix predicts an array

    def raw_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """LightGBM's own probability of a problem, before calibration (1-D)."""
        return self._predict(X)

    def risk(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability that an inspection in the next 12 months finds a problem (1-D)."""
        return self.calibrate(self.raw_proba(X))

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Columns: no problem, a problem (``classes_``)."""
        p = self.risk(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (self.risk(X) >= 0.5).astype(int)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return self.calibrator_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per-feature contributions to the raw log-odds (last column: the expected value)."""
        return self._predict(X, pred_contrib=True)


class ScorecardModel(ClassifierMixin, BaseEstimator):
    """optbinning: monotone binning per indicator (the catalogue's direction), logistic regression
    on the weights of evidence, points scaled so that ``pdo`` points double the odds of no problem.
    A scikit-learn classifier like ``RiskModel``."""

    def __init__(
        self,
        pdo: float = 20.0,
        odds: float = 50.0,
        base_points: float = 600.0,
        max_n_bins: int = 5,
        categorical: tuple[str, ...] = (),
    ) -> None:
        self.pdo = pdo
        self.odds = odds
        self.base_points = base_points
        self.max_n_bins = max_n_bins
        self.categorical = categorical

    def fit(
        self, X: pd.DataFrame | np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> ScorecardModel:
        from optbinning import BinningProcess, Scorecard

        X = _frame(X)
        y = _check_binary(y)
        self.classes_ = np.array([0, 1])
        self.columns_ = names = [str(c) for c in X.columns]
        self.n_features_in_ = len(names)
        X = X.set_axis(names, axis=1)
        categorical = _categorical(names, tuple(self.categorical))
        fit_params = {c: {"monotonic_trend": _TREND[_direction(c)]} for c in names if c not in categorical}
        process = BinningProcess(
            names, categorical_variables=categorical, max_n_bins=self.max_n_bins, binning_fit_params=fit_params
        )
        self.scorecard_ = Scorecard(
            process,
            LogisticRegression(max_iter=1000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.pdo, "odds": self.odds, "scorecard_points": self.base_points},
        ).fit(X, y, sample_weight=sample_weight)
        return self

    def _frame(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        return _frame(X).set_axis(self.columns_, axis=1) if not isinstance(X, pd.DataFrame) else X[self.columns_]

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Columns: no problem, a problem (``classes_``)."""
        return self.scorecard_.predict_proba(self._frame(X))

    def risk(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return self.predict_proba(X)[:, 1]

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return (self.risk(X) >= 0.5).astype(int)

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Total points: higher means lower risk, as on a credit scorecard."""
        return self.scorecard_.score(self._frame(X))

    def table(self) -> pd.DataFrame:
        return self.scorecard_.table(style="detailed")

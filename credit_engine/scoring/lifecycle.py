"""Train, validate and log a challenger: from the store's history, or from an analyst's table.

From the store the validation is by time: the model learns on earlier as-of dates and is
judged on the last ``valid_months``, with a year between them so that no inspection labels a
row on both sides. From a table (no dates) it is stratified k-fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from credit_engine.calendar import add_months
from credit_engine.features import features_as_of, load_history
from credit_engine.grading.classes import DEFAULT_SHARES, CutOffs, grade
from credit_engine.rules import rules_for
from credit_engine.scoring import metrics, plots, registry, tables, tuning
from credit_engine.scoring.models import RiskModel, ScorecardModel
from credit_engine.scoring.training import HORIZON_MONTHS, TrainingSet, spine_dates, training_set
from credit_engine.settings import Settings
from credit_engine.store.repository import Store, now_utc


@dataclass(frozen=True)
class HeldOut:
    """Probabilities of the validation rows from models that never learned from them: the
    ranking (AUC, KS, ROC) of the LightGBM model and of the scorecard, and the calibrated
    probabilities that the Brier score and calibration table judge."""

    ranking: np.ndarray
    calibrated: np.ndarray
    scorecard: np.ndarray


@dataclass(frozen=True)
class TrainReport:
    version: str
    metrics: dict[str, float]
    cutoffs: CutOffs
    class_shares: dict[str, float]


def cutoffs_for(
    probabilities: np.ndarray, shares: tuple[float, ...] | None, thresholds: tuple[float, float, float] | None
) -> CutOffs:
    """Explicit thresholds win; otherwise the thresholds that give the population these shares."""
    return CutOffs(thresholds) if thresholds else CutOffs.from_shares(probabilities, shares or DEFAULT_SHARES)


def train_on_store(
    conn: Connection,
    settings: Settings,
    labels_until: date,
    months: int = 36,
    valid_months: int = 12,
    shares: tuple[float, ...] | None = None,
    thresholds: tuple[float, float, float] | None = None,
) -> TrainReport:
    """Spine of ``months`` month ends whose label windows close by ``labels_until``."""
    dates = spine_dates(labels_until, months)
    valid_from = dates[-valid_months]
    train_until = add_months(valid_from, -HORIZON_MONTHS)
    if train_until < dates[0]:
        raise ValueError(f"{months} months leave no training dates before {valid_from} minus the label year")
    history = load_history(conn, dates[0], labels_until)
    rows = training_set(history, dates)
    train = rows.where(rows.as_of <= np.datetime64(train_until, "D"))
    valid = rows.where(rows.as_of >= np.datetime64(valid_from, "D"))
    population = features_as_of(history, labels_until)[history.existing_on(labels_until)]
    _both_outcomes(train, valid)
    model, tried = tuning.choose_on_time(train.X, train.y, train.weight, valid.X, valid.y, valid.weight)
    params = {
        "source": "store",
        "chosen_on": "validation AUC of "
        + "; ".join(
            f"{r.num_leaves:.0f} leaves/{r.min_child_samples:.0f} rows/l2 {r.reg_lambda:g}: {r.valid_auc:.4f}"
            for r in tried.itertuples()
        ),
        "spine_first": dates[0],
        "spine_last": dates[-1],
        "train_until": train_until,
        "valid_from": valid_from,
        "labels_until": labels_until,
    }
    return fit_and_log(
        settings, train, valid, population, params, shares, thresholds, graded_on=labels_until, model=model
    )


def fit_and_log(
    settings: Settings,
    train: TrainingSet,
    valid: TrainingSet,
    population: pd.DataFrame,
    params: dict,
    shares: tuple[float, ...] | None = None,
    thresholds: tuple[float, float, float] | None = None,
    categorical: tuple[str, ...] = (),
    measured: dict[str, float] | None = None,
    model_name: str = registry.MODEL_NAME,
    held_out: HeldOut | None = None,
    graded_on: date | None = None,
    model: RiskModel | None = None,
) -> TrainReport:
    """Fit both models (LightGBM with ``model``'s parameters if given, calibrated on ``valid``),
    measure them, set the cut-offs, compare with the champion, log and register.

    ``held_out`` and ``measured`` come from elsewhere when ``valid`` is the training rows
    themselves (the folds of a table). Otherwise the validation rows are held out by time, and
    calibration, which learns from them, is judged by entity folds within them. With
    ``graded_on`` the population is also graded as the batch would grade it that day (direct
    judgements of that day's rule set over the model's classes), and those shares are logged too."""
    _both_outcomes(train, valid)
    model = (model or RiskModel(categorical=categorical)).fit(
        train.X, train.y, train.weight, calibration=(valid.X, valid.y, valid.weight)
    )
    card = ScorecardModel(categorical=categorical).fit(train.X, train.y, train.weight)
    held_out = held_out or HeldOut(
        model.risk(valid.X),
        model.held_out_proba(valid.X, valid.y, valid.weight, valid.X.index.to_numpy()),
        card.risk(valid.X),
    )
    p_pop = model.risk(population)
    cutoffs = cutoffs_for(p_pop, shares, thresholds)
    classes = cutoffs.classes(p_pop)
    shares_now = registry.class_shares(classes)
    found = {
        "valid_auc": metrics.auc(valid.y, held_out.ranking, valid.weight),
        "valid_ks": metrics.ks(valid.y, held_out.ranking, valid.weight),
        "valid_brier": metrics.brier(valid.y, held_out.calibrated, valid.weight),
        "train_auc": metrics.auc(train.y, model.risk(train.X), train.weight),
        "rounds": float(model.rounds_),
        "scorecard_valid_auc": metrics.auc(valid.y, held_out.scorecard, valid.weight),
        "scorecard_valid_ks": metrics.ks(valid.y, held_out.scorecard, valid.weight),
        "n_train": float(len(train)),
        "n_valid": float(len(valid)),
        "n_population": float(len(population)),
        "valid_problem_rate": float(np.average(valid.y, weights=valid.weight)),
        **{f"class_share_{g}": float(v) for g, v in shares_now.items()},
        **(measured or {}),
    }
    if graded_on is not None:
        graded = grade(population, p_pop, cutoffs, rules_for(graded_on))["grade"].to_numpy()
        found |= {f"graded_share_{g}": float(v) for g, v in registry.class_shares(graded).items()}
    champion = _champion_or_none(settings) if model_name == registry.MODEL_NAME else None
    if champion is not None and list(population.columns) == champion.model.columns_:
        p_champ = champion.model.risk(population)
        found["score_psi_vs_champion"] = metrics.psi_scores(p_champ, p_pop)
        champion_classes = champion.cutoffs.classes(p_champ)
        found["class_psi_vs_champion"] = metrics.psi_shares(registry.class_shares(champion_classes), shares_now)
        # With cut-offs set by shares the class PSI is near 0 by construction: how many entities
        # would change class says more.
        found["class_migration_vs_champion"] = float(np.mean(champion_classes != classes))
        # The champion on this run's own validation rows: its logged AUC is of an older window.
        found["champion_valid_auc"] = metrics.auc(valid.y, champion.model.risk(valid.X), valid.weight)
    artefacts = {
        "calibration": metrics.calibration_table(valid.y, held_out.calibrated, valid.weight).reset_index(),
        "importance": plots.importance_table(model),
        "scorecard": card.table().reset_index(drop=True).astype(str),
    }
    figures = {
        "roc": plots.roc(valid.y, {"LightGBM": held_out.ranking, "scorecard": held_out.scorecard}, valid.weight),
        "calibration": plots.calibration(artefacts["calibration"]),
        "importance": plots.importance(artefacts["importance"]),
    }
    version = registry.log_training(
        settings, model, cutoffs, params, found, artefacts, figures, population.head(5), champion, model_name
    )
    return TrainReport(version, found, cutoffs, {g: float(v) for g, v in shares_now.items()})


def _both_outcomes(train: TrainingSet, valid: TrainingSet) -> None:
    if len(np.unique(train.y)) < 2 or len(np.unique(valid.y)) < 2:
        raise ValueError("training and validation rows must each hold both outcomes")


def _champion_or_none(settings: Settings) -> registry.Champion | None:
    try:
        return registry.load_champion(settings)
    except LookupError:
        return None


@dataclass(frozen=True)
class TableReport:
    """What the analyst's path made of a table: the label read, the columns left out and why,
    and the outer folds' figures."""

    label: tables.Label
    left_out: dict[str, str]
    cv: dict[str, float]
    outer_auc: list[float]


def table_rows(
    table: pd.DataFrame,
    label: str,
    positive: str | None = None,
    id_column: str | None = None,
    keep: tuple[str, ...] = (),
    name: str = "table",
) -> tuple[pd.DataFrame, np.ndarray, tables.Label, dict[str, str]]:
    """Features, 0/1 labels, the label read and the columns left out (an ``id_column`` among them)."""
    found, y = tables.label_of(table, label, positive, name)
    missing = [c for c in (id_column, *keep) if c and c not in table.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(missing)} (columns: {', '.join(map(str, table.columns))})")
    X = table.drop(columns=[label])
    left_out = ({id_column: "--id"} if id_column else {}) | tables.identifier_columns(
        X.drop(columns=[id_column] if id_column else []), keep
    )
    X = X.drop(columns=list(left_out))
    if X.empty:
        raise ValueError(f"{name}: no feature column is left ({', '.join(f'{c}: {w}' for c, w in left_out.items())})")
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X = X.astype({c: float for c in X.columns if c not in categorical} | dict.fromkeys(categorical, "string"))
    return X, y, found, left_out


def train_on_table(
    settings: Settings,
    path: Path,
    label: str,
    id_column: str | None = None,
    folds: int = 5,
    seed: int = 7,
    positive: str | None = None,
    keep: tuple[str, ...] = (),
    inner_folds: int = 3,
) -> tuple[TrainReport, TableReport]:
    """An analyst's labelled table: stratified k-fold validation; inside each outer fold
    LightGBM's complexity (leaves, rows per leaf, regularisation, rounds by early stopping) is
    chosen by inner folds of that fold's rows, the scorecard fitted on them, and both judged on
    the outer fold. With ``id_column`` an id's rows stay in one fold (a panel must not be judged
    on ids it learned from). The logged model is chosen the same way on all rows. Text columns
    are categories, which the model codes itself (its signature takes the raw columns)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    table = tables.read_table(path)
    X, y, found, left_out = table_rows(table, label, positive, id_column, keep, path.name)
    categorical = tuple(c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]))
    everything = TrainingSet(X, y, np.ones(len(y)), np.zeros(len(y)))
    p, p_card = np.empty(len(y)), np.empty(len(y))
    aucs, kss, briers, train_aucs = [], [], [], []
    splitter = StratifiedGroupKFold if id_column else StratifiedKFold
    groups = table[id_column].to_numpy() if id_column else None
    for fit_idx, held_idx in splitter(folds, shuffle=True, random_state=seed).split(X, y, groups):
        fold = everything.where(np.isin(np.arange(len(y)), fit_idx))
        inner_groups = groups[fit_idx] if groups is not None else None
        model, _ = tuning.choose_by_inner_cv(fold.X, fold.y, categorical, inner_folds, seed, inner_groups)
        model.fit(fold.X, fold.y)
        p[held_idx] = model.risk(X.iloc[held_idx])
        p_card[held_idx] = ScorecardModel(categorical=categorical).fit(fold.X, fold.y).risk(X.iloc[held_idx])
        aucs.append(metrics.auc(y[held_idx], p[held_idx]))
        kss.append(metrics.ks(y[held_idx], p[held_idx]))
        briers.append(metrics.brier(y[held_idx], p[held_idx]))
        train_aucs.append(metrics.auc(fold.y, model.risk(fold.X)))
    cv = {
        "cv_auc_mean": float(np.mean(aucs)),
        "cv_auc_std": float(np.std(aucs)),
        "cv_ks_mean": float(np.mean(kss)),
        "cv_brier_mean": float(np.mean(briers)),
        "cv_train_auc_mean": float(np.mean(train_aucs)),
    }
    model, _ = tuning.choose_by_inner_cv(X, y, categorical, inner_folds, seed, groups)
    params = {
        "source": "table",
        "table": path.name,
        "label": label,
        "positive": found.positive,
        "folds": folds,
        "inner_folds": inner_folds,
        "left_out": ",".join(map(str, left_out)) or "none",
    }
    # Another population and other columns: registered apart, so it can never become the champion.
    report = fit_and_log(
        settings,
        everything,
        everything,
        X,
        params,
        categorical=categorical,
        measured=cv,
        model_name=registry.ANALYST_MODEL_NAME,
        held_out=HeldOut(p, p, p_card),
        model=model,
    )
    return report, TableReport(found, left_out, cv, aucs)


def promote_audited(
    conn: Connection, settings: Settings, version: str, justification: str | None, actor: str, client: str | None = None
) -> dict:
    """Promote through the gate, the audit row written (in the caller's transaction) before the
    alias moves: an audit that fails leaves the champion where it was, and an alias that fails to
    move rolls the audit row back with the caller's transaction."""
    outcome = registry.promotion(settings, version, justification)
    action = "model_promote_forced" if outcome["forced"] else "model_promote"
    Store(conn).audit(now_utc(), actor, action, f"{registry.MODEL_NAME}/{version}", outcome, client=client)
    registry.move_champion(settings, version)
    return outcome

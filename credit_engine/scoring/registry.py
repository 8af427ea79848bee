"""The analysts' model lifecycle in MLflow: log a training run, register ``credit-risk``, move
the ``challenger`` and ``champion`` aliases through a promotion gate, load the exact champion.

Tracking and registry share ``CREDIT_ENGINE_MLFLOW_TRACKING_URI`` (embedded default: SQLite in
the working folder); artefacts go to ``CREDIT_ENGINE_MODEL_DIR``. MLflow is imported lazily: it
is slow to import and only the training, grading and promotion steps need it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from credit_engine.features import catalogue
from credit_engine.grading.classes import GRADES, CutOffs
from credit_engine.scoring.models import RiskModel
from credit_engine.settings import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

MODEL_NAME = "credit-risk"
#: Models analysts train on their own tables: other columns, so never graded with.
ANALYST_MODEL_NAME = "credit-risk-analyst"
EXPERIMENT = "credit-risk"
#: The promotion gate: the challenger may lose at most this much validation AUC…
MAX_AUC_DROP = 0.01
#: …and its classes of the population may move at most this far from the champion's…
MAX_CLASS_PSI = 0.25
#: …nor may more than this share of entities change class (our assumption, configurable: with
#: cut-offs set as class shares the class PSI alone barely moves).
MAX_CLASS_MIGRATION = 0.40


class PromotionRefused(RuntimeError):
    def __init__(self, version: str, reasons: list[str]) -> None:
        super().__init__(f"version {version} not promoted: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Champion:
    """The model version behind the ``champion`` alias, loaded once and recorded with every grade."""

    version: str
    model: RiskModel
    cutoffs: CutOffs
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)


def _mlflow(settings: Settings):
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    return mlflow


def client(settings: Settings) -> MlflowClient:
    """A client of this store's tracking server and registry. It leaves mlflow's process-wide
    URIs alone: an API worker's periodic alias check (``Service.follow_champion``) runs beside
    whatever else the process does with mlflow."""
    from mlflow import MlflowClient

    return MlflowClient(settings.tracking_uri, settings.tracking_uri)


def _experiment_id(settings: Settings) -> str:
    mlflow = _mlflow(settings)
    found = mlflow.get_experiment_by_name(EXPERIMENT)
    if found:
        return found.experiment_id
    root = settings.model_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(EXPERIMENT, artifact_location=root.as_uri())


def _python_model(model: RiskModel, cutoffs: CutOffs):
    import mlflow.pyfunc

    class CreditRiskModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]  # mlflow's lazily imported pyfunc
        """Calibrated probability of a problem at the next inspection, from the feature frame."""

        def __init__(self) -> None:
            self.model, self.cutoffs = model, cutoffs

        def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
            return self.model.risk(model_input)

    return CreditRiskModel()


def log_training(
    settings: Settings,
    model: RiskModel,
    cutoffs: CutOffs,
    params: dict,
    metrics: dict[str, float],
    artefacts: dict[str, pd.DataFrame],
    figures: dict[str, Any],
    sample: pd.DataFrame,
    champion: Champion | None,
    model_name: str = MODEL_NAME,
) -> str:
    """One run: params, metrics, the feature catalogue, tables and plots; the model registered
    as ``credit-risk`` with its signature and marked ``challenger``. Returns the new version."""
    mlflow = _mlflow(settings)
    from mlflow.models import infer_signature

    with mlflow.start_run(experiment_id=_experiment_id(settings)):
        mlflow.log_params(
            {
                **params,
                **model.params() | {"monotone_constraints": "catalogue directions"},
                "cutoff_a": cutoffs.thresholds[0],
                "cutoff_b": cutoffs.thresholds[1],
                "cutoff_c": cutoffs.thresholds[2],
                "compared_with_champion": champion.version if champion else "none",
            }
        )
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp:
            for name, table in {"feature_catalogue": catalogue(), **artefacts}.items():
                path = Path(tmp) / f"{name}.csv"
                table.to_csv(path, index=False)
                mlflow.log_artifact(str(path), "reports")
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}.png")
        signature = infer_signature(sample, model.risk(sample))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=_python_model(model, cutoffs),
            signature=signature,
            registered_model_name=model_name,
        )
        version = str(info.registered_model_version)
        client(settings).set_registered_model_alias(model_name, "challenger", version)
    return version


def alias_version(settings: Settings, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client(settings).get_model_version_by_alias(MODEL_NAME, alias).version)
    except MlflowException:
        return None


def load_version(settings: Settings, version: str) -> Champion:
    """A registered version, unwrapped to the fitted model and its cut-offs."""
    mlflow = _mlflow(settings)
    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}").unwrap_python_model()
    run_id = client(settings).get_model_version(MODEL_NAME, version).run_id
    assert run_id is not None  # every version here is registered from a training run
    return Champion(version, loaded.model, loaded.cutoffs, run_id, run_metrics(settings, run_id))


def load_champion(settings: Settings) -> Champion:
    version = alias_version(settings, "champion")
    if version is None:
        raise LookupError(
            f"no model version has the alias 'champion' in {settings.tracking_uri}: "
            "run `credit-engine train --promote` first"
        )
    return load_version(settings, version)


def run_metrics(settings: Settings, run_id: str) -> dict[str, float]:
    return dict(client(settings).get_run(run_id).data.metrics)


def versions(settings: Settings, model_name: str = MODEL_NAME) -> list[dict]:
    """Every registered version of ``model_name`` with its aliases and metrics, newest first."""
    c = client(settings)
    out = []
    for found in sorted(c.search_model_versions(f"name = '{model_name}'"), key=lambda v: -int(v.version)):
        v = c.get_model_version(model_name, found.version)  # the search leaves the aliases out
        out.append(
            {
                "version": str(v.version),
                "aliases": list(v.aliases),
                "run_id": v.run_id,
                "created": v.creation_timestamp,
                "metrics": run_metrics(settings, cast(str, v.run_id)),  # registered from a run
            }
        )
    return out


def gate(settings: Settings, version: str) -> list[str]:
    """Why ``version`` may not replace the champion (empty: it may)."""
    champion = alias_version(settings, "champion")
    if champion is None or champion == version:
        return []
    c = client(settings)
    run = c.get_run(cast(str, c.get_model_version(MODEL_NAME, version).run_id))  # registered from a run
    mine, params = run.data.metrics, run.data.params
    theirs = run_metrics(settings, cast(str, c.get_model_version(MODEL_NAME, champion).run_id))
    reasons = []
    if params.get("compared_with_champion") != champion:
        reasons.append(
            f"trained against champion {params.get('compared_with_champion')}, but the champion is now "
            f"{champion}: retrain to compare"
        )
    # Both AUCs on the challenger's validation rows when the run measured the champion there;
    # otherwise (older runs) the champion's figure from its own window.
    same_rows = "champion_valid_auc" in mine
    baseline = mine["champion_valid_auc"] if same_rows else theirs.get("valid_auc", 0.0)
    drop = baseline - mine.get("valid_auc", 0.0)
    if drop > MAX_AUC_DROP:
        where = "on the same validation rows" if same_rows else "on its own, older validation window"
        reasons.append(
            f"validation AUC {mine.get('valid_auc', 0):.4f} is {drop:.4f} below the champion's "
            f"{baseline:.4f} {where} (allowed {MAX_AUC_DROP})"
        )
    psi = mine.get("class_psi_vs_champion")
    if psi is None or psi >= MAX_CLASS_PSI:
        reasons.append(
            f"class PSI against the champion {psi if psi is not None else 'unknown'} is not under {MAX_CLASS_PSI}"
        )
    migration = mine.get("class_migration_vs_champion")
    if migration is not None and migration > MAX_CLASS_MIGRATION:
        reasons.append(f"{migration:.1%} of entities would change class (allowed {MAX_CLASS_MIGRATION:.0%})")
    return reasons


def promote(settings: Settings, version: str, justification: str | None = None) -> dict:
    """Move ``champion`` to ``version`` if the gate passes, or if forced with a written
    justification. Returns what happened; LookupError for an unknown version."""
    outcome = promotion(settings, version, justification)
    move_champion(settings, version)
    return outcome


def promotion(settings: Settings, version: str, justification: str | None = None) -> dict:
    """What promoting ``version`` would do, moving nothing yet: the gate's verdict (refused
    unless forced with a written justification) and the champion it replaces."""
    from mlflow.exceptions import MlflowException

    try:
        client(settings).get_model_version(MODEL_NAME, version)
    except MlflowException as exc:
        raise LookupError(f"no version {version} of {MODEL_NAME}") from exc
    reasons = gate(settings, version)
    if reasons and not (justification and justification.strip()):
        raise PromotionRefused(version, reasons)
    return {
        "version": version,
        "previous": alias_version(settings, "champion"),
        "forced": bool(reasons),
        "gate_failures": reasons,
        "justification": justification if reasons else None,
    }


def move_champion(settings: Settings, version: str) -> None:
    """``champion`` to ``version``; the version stops being the challenger."""
    c = client(settings)
    c.set_registered_model_alias(MODEL_NAME, "champion", version)
    if alias_version(settings, "challenger") == version:
        c.delete_registered_model_alias(MODEL_NAME, "challenger")


def class_shares(grades: np.ndarray) -> pd.Series:
    return pd.Series(grades).value_counts(normalize=True).reindex(list(GRADES), fill_value=0.0)


def report(settings: Settings, version: str) -> dict:
    """One version for an analyst: aliases, metrics, parameters, logged artefacts, and the gate now."""
    from mlflow.exceptions import MlflowException

    c = client(settings)
    try:
        found = c.get_model_version(MODEL_NAME, version)
    except MlflowException as exc:
        raise LookupError(f"no version {version} of {MODEL_NAME}") from exc
    assert found.run_id is not None  # every version here is registered from a training run
    run = c.get_run(found.run_id)
    files = [a.path for folder in ("reports", "plots") for a in c.list_artifacts(found.run_id, folder)]
    return {
        "version": str(found.version),
        "aliases": list(found.aliases),
        "run_id": found.run_id,
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "artifacts": files,
        "gate": gate(settings, version),
    }

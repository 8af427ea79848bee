"""notebooks/01-model-report.ipynb runs top to bottom on a small synthetic province."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from typer.testing import CliRunner

from credit_engine.scoring import registry
from credit_engine.settings import Settings, get_settings
from pipelines.cli import app

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-model-report.ipynb"


@pytest.fixture
def demo_store(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`credit-engine demo` on 1,500 entities, with its registry and artefacts in ``tmp_path``.

    The kernel inherits these variables from ``os.environ``."""
    monkeypatch.setenv("CREDIT_ENGINE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["demo", "--entities", "1500", "--port", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return get_settings()


def text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}"
    return cells[0]


@pytest.mark.slow
def test_model_report_retrains_compares_and_plots(demo_store: Settings) -> None:
    settings = demo_store
    before = registry.versions(settings)
    champion = registry.alias_version(settings, "champion")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    parameters = tagged(nb, "parameters")
    assert "MONTHS = 36" in parameters.source
    parameters.source = parameters.source.replace("MONTHS = 36", "MONTHS = 30")  # another spine: another model

    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()  # raises on a failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert f"environment: {sys.prefix}" in "\n".join(text_of(c) for c in nb.cells if c.cell_type == "code")
    after = registry.versions(settings)
    assert len(after) == len(before) + 1
    new = after[0]
    assert new["aliases"] == ["challenger"]
    assert registry.alias_version(settings, "champion") == champion  # compared, never promoted

    table = text_of(tagged(nb, "comparison"))
    old_auc = registry.run_metrics(settings, before[0]["run_id"])["valid_auc"]
    assert f"champion v{champion}" in table and f"challenger v{new['version']}" in table
    assert f"{old_auc:.4f}" in table and f"{new['metrics']['valid_auc']:.4f}" in table
    assert new["metrics"]["valid_auc"] != old_auc  # MONTHS = 30 really trained another model

    verdict = text_of(tagged(nb, "gate"))
    reasons = registry.gate(settings, new["version"])
    assert ("passes" in verdict) == (not reasons)
    assert all(reason in verdict for reason in reasons)

    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2

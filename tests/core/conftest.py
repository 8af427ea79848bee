"""Fixtures of the core's tests that several modules share: the scoring province (ingested, not
yet trained) and its champion, each built once per module that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from credit_engine.ingest import ingest_paths
from credit_engine.scoring import lifecycle, registry
from credit_engine.settings import Settings, get_settings
from credit_engine.synth import synthesise
from tests.conftest import BACKENDS, scratch_store

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module", params=BACKENDS)
def province(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Settings]]:
    folder = tmp_path_factory.mktemp(f"province-{request.param}")
    patch = pytest.MonkeyPatch()
    patch.setenv("CREDIT_ENGINE_VAR_DIR", str(folder / "var"))
    patch.setenv("CREDIT_ENGINE_MODEL_DIR", str(folder / "models"))
    patch.setenv("CREDIT_ENGINE_PSEUDONYM_SECRET", "test-secret")
    patch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    synthesise(folder / "prov", 2500, seed=11, as_of=AS_OF)
    with scratch_store(request.param, folder) as engine:
        ingest_paths([folder / "prov" / "sources"], engine, settings, backfill=True)
        yield engine, settings
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def champion(province: tuple[Engine, Settings]) -> registry.Champion:
    engine, settings = province
    with engine.connect() as conn:
        report = lifecycle.train_on_store(conn, settings, AS_OF)
    assert registry.alias_version(settings, "challenger") == report.version
    registry.promote(settings, report.version)
    return registry.load_champion(settings)


def batch_rows(engine: Engine, batch_id: str) -> pd.DataFrame:
    """A batch's grade rows without what differs between batches (ids, batch id, timestamp)."""
    with engine.connect() as conn:
        rows = pd.read_sql_query(f"SELECT * FROM grade WHERE batch_id = '{batch_id}'", conn)
    return rows.drop(columns=["id", "batch_id", "graded_at"]).sort_values("uscc").reset_index(drop=True)

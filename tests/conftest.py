"""Fixtures shared by the suite: a migrated store on every backend, isolated settings."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from credit_engine.settings import Settings, get_settings
from credit_engine.store.db import make_engine, upgrade

POSTGRES_URL = os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
#: A Redis database the rate-limit tests may empty (CI sets it).
REDIS_URL = os.environ.get("CREDIT_ENGINE_TEST_REDIS_URL")
LIMIT_STORAGES = ["memory://"] + ([REDIS_URL] if REDIS_URL else [])


def pytest_report_header() -> list[str]:
    return [
        f"store backends: {', '.join(BACKENDS)}"
        + ("" if POSTGRES_URL else " (set CREDIT_ENGINE_TEST_POSTGRES_URL for PostgreSQL)"),
        f"rate-limit storages: {', '.join(LIMIT_STORAGES)}"
        + ("" if REDIS_URL else " (set CREDIT_ENGINE_TEST_REDIS_URL for Redis)"),
    ]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("CREDIT_ENGINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CREDIT_ENGINE_PSEUDONYM_SECRET", "test-secret")
    monkeypatch.setenv("CREDIT_ENGINE_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("CREDIT_ENGINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CREDIT_ENGINE_ENV", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


#: Markers the suite's tiers select by (``make test-fast`` runs none of them), set from the fixtures a
#: test uses so that a new test is tiered without a decorator of its own.
TIER_FIXTURES = {
    "store": {"engine", "registered", "initialised"},
    "province": {"province", "demo_store", "drawn", "app", "client"},
    "model": {"champion", "demo_store"},
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TIER_FIXTURES.items():
            if names & fixtures:
                item.add_marker(marker)
        if "tests/api/" in item.nodeid and "province" in names:  # the API's province has a champion
            item.add_marker("model")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgresql" in params.values():
            item.add_marker("postgres")
            item.add_marker("store")


_SQLITE_TEMPLATE: Path | None = None


def _sqlite_template() -> Path:
    """One migrated SQLite file per test process, copied for each test: migrating costs seconds,
    a copy costs a millisecond, and every test still gets a store of its own."""
    global _SQLITE_TEMPLATE
    if _SQLITE_TEMPLATE is None:
        path = Path(tempfile.mkdtemp(prefix="credit-engine-template-")) / "store.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.connect() as conn:  # everything into the main file, so that copying it copies all
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        _SQLITE_TEMPLATE = path
    return _SQLITE_TEMPLATE


@contextmanager
def scratch_store(backend: str, folder: Path) -> Iterator[Engine]:
    """A freshly migrated store: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), folder / "store.db")
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with scratch_store(request.param, tmp_path) as engine:
        yield engine


@dataclass(frozen=True)
class ProvinceSpec:
    """What a synthetic province is built from, and how far along the flow (``pipelines.flow``)."""

    entities: int
    seed: int
    steps: tuple[str, ...] = ("synth", "ingest", "link", "build", "train", "grade")
    as_of: date = date(2026, 6, 30)


@dataclass(frozen=True)
class BuiltProvince:
    engine: Engine
    settings: Settings
    folder: Path  # the province's source files are in ``folder / "sources"``
    spec: ProvinceSpec


class Provinces:
    """Each (backend, spec) built once per test process, by the same steps the CLI runs; a test
    that only reads takes the shared one, a test that writes asks for a copy of its own."""

    def __init__(self, root: Path) -> None:
        self.root, self.built, self.stack = root, {}, ExitStack()

    def get(self, backend: str, spec: ProvinceSpec) -> BuiltProvince:
        if (backend, spec) not in self.built:
            self.built[backend, spec] = self._build(backend, spec)
        return self.built[backend, spec]

    def _build(self, backend: str, spec: ProvinceSpec) -> BuiltProvince:
        from pipelines import flow

        folder = self.root / f"{backend}-{spec.entities}-{spec.seed}-{len(self.built)}"
        engine = self.stack.enter_context(scratch_store(backend, folder))
        settings = Settings(
            var_dir=folder / "var",
            model_dir=folder / "models",
            pseudonym_secret="test-secret",
            database_url=engine.url.render_as_string(hide_password=False),
        )
        run = flow.Run(engine, settings, spec.as_of, folder / "province", spec.entities, spec.seed, actor="test")
        flow.run(run, spec.steps)
        return BuiltProvince(engine, settings, run.folder, spec)

    def close(self) -> None:
        self.stack.close()


@pytest.fixture(scope="session")
def provinces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provinces]:
    factory = Provinces(tmp_path_factory.mktemp("provinces"))
    yield factory
    factory.close()

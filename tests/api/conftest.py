"""A served province for the API tests: synthesised, ingested, linked, trained, graded, with a
key for every role — built once per store backend and shared by the API test modules."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from stdnum.cn import ric

from api import create_app
from credit_engine.keys import Role, create_key
from credit_engine.records import Publicity, current_record
from credit_engine.settings import Settings, get_settings
from tests.conftest import BACKENDS, Provinces, ProvinceSpec

AS_OF = date(2026, 6, 30)


@dataclass
class Province:
    engine: Engine
    settings: Settings
    keys: dict[str, str]  # role (and "scoped", "revoked") -> key
    scope: str  # the scoped regulator's region prefix
    identity_numbers: set[str]  # every full ID number found in the source files


def planted_ids(sources: Path) -> set[str]:
    """Every valid resident ID number (18- or 15-digit) in the raw source files."""
    found = set()
    for path in sources.iterdir():
        text = path.read_bytes().decode("gb18030", errors="ignore") + path.read_bytes().decode("utf-8", errors="ignore")
        for value in re.findall(r"(?<![0-9A-Z])(\d{17}[\dX]|\d{15})(?![0-9A-Z])", text):
            if len(value) == 15 or ric.is_valid(value):
                found.add(value)
    return found


def _keys(engine: Engine, scope: str) -> dict[str, str]:
    with engine.begin() as conn:
        keys = {role.value: create_key(conn, role, f"test-{role.value}")[1] for role in Role}
        keys["scoped"] = create_key(conn, Role.REGULATOR, "test-scoped", (scope,))[1]
        revoked_id, keys["revoked"] = create_key(conn, Role.REGULATOR, "test-revoked")
        from credit_engine.keys import revoke_key

        revoke_key(conn, revoked_id)
    return keys


#: The API's province: 1 200 entities through the whole flow, with a champion and its grades.
SPEC = ProvinceSpec(1200, 5, ("synth", "ingest", "link", "build", "train", "grade"), AS_OF)


@pytest.fixture(scope="session", params=BACKENDS)
def province(request: pytest.FixtureRequest, provinces: Provinces) -> Iterator[Province]:
    built = provinces.get(request.param, SPEC)
    patch = pytest.MonkeyPatch()  # what the service reads from its settings, for this session's app
    for name, value in {
        "VAR_DIR": built.settings.var_dir,
        "MODEL_DIR": built.settings.model_dir,
        "DATABASE_URL": built.settings.db_url,
        "PSEUDONYM_SECRET": "test-secret",
        "PUBLIC_RATE_LIMIT": "100000/minute",
        "CHAMPION_FOLLOW_SECONDS": "0",  # a test that needs following asks for it
        # the reads' audit rows in the store itself, where the tests look for them
        # (test_hardening covers the audit database of its own an SQLite store gets)
        "READ_AUDIT_DATABASE_URL": built.settings.db_url,
    }.items():
        patch.setenv(f"CREDIT_ENGINE_{name}", str(value))
    patch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    with built.engine.connect() as conn:
        scope = conn.exec_driver_sql(
            "SELECT region_code FROM entity GROUP BY region_code ORDER BY COUNT(*) DESC LIMIT 1"
        ).scalar()[:4]
    yield Province(built.engine, settings, _keys(built.engine, scope), scope, planted_ids(built.folder / "sources"))
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def app(province: Province) -> FastAPI:
    return create_app(province.settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def auth(province: Province, role: str) -> dict[str, str]:
    return {"X-API-Key": province.keys[role]}


def published_penalties(province: Province) -> Iterator[tuple[str, object]]:
    """(uscc, fact) of published penalties today, from entities the other modules do not single out."""
    with province.engine.connect() as conn:
        usccs = [
            u
            for (u,) in conn.exec_driver_sql(
                "SELECT DISTINCT subject_uscc FROM fact WHERE kind = 'penalty' AND subject_uscc IS NOT NULL "
                "ORDER BY subject_uscc DESC"
            ).all()
        ]
        for uscc in usccs:
            for fact in current_record(conn, uscc).facts:
                if fact.kind == "penalty" and fact.publicity is Publicity.PUBLISHED and not fact.under_objection:
                    yield uscc, fact


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread of the test process."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

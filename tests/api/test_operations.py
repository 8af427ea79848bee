"""Health, readiness (database and champion), Prometheus metrics with grades served by version."""

from __future__ import annotations

import json
import logging

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from api import create_app
from api.logs import JsonFormatter
from credit_engine.store.db import MIGRATIONS, make_engine, upgrade
from tests.api.conftest import Province, auth

pytestmark = pytest.mark.xdist_group("api")

#: the newest migration: what a migrated store reports
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_ready_with_a_champion_and_metrics_count_grades_by_version(client: TestClient, province: Province) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] and ready.json()["schema_revision"] == HEAD
    version = ready.json()["champion"]
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql("SELECT uscc FROM grade ORDER BY id LIMIT 1").scalar()

    def served() -> float:
        for line in client.get("/metrics", headers=auth(province, "admin")).text.splitlines():
            if line.startswith(f'credit_engine_grades_served_total{{model_version="{version}"}}'):
                return float(line.split()[-1])
        return 0.0

    before = served()
    assert client.get(f"/v1/entities/{uscc}", headers=auth(province, "regulator")).status_code == 200
    assert served() == before + 1
    exposed = client.get("/metrics", headers=auth(province, "admin")).text
    assert 'http_requests_total{handler="/v1/entities/{uscc}"' in exposed


def test_not_ready_without_a_champion(province: Province, tmp_path) -> None:
    empty = province.settings.model_copy(update={"mlflow_tracking_uri": f"sqlite:///{tmp_path / 'none.db'}"})
    with TestClient(create_app(empty)) as bare:
        ready = bare.get("/readyz")
        assert ready.status_code == 503 and ready.json()["champion"] is None
        assert "champion" in ready.json()["champion_problem"]
        assert bare.get("/healthz").status_code == 200
        with province.engine.connect() as conn:
            uscc = conn.exec_driver_sql("SELECT uscc FROM entity ORDER BY uscc LIMIT 1").scalar()
        assert bare.get(f"/v1/public/entities/{uscc}").status_code == 200  # records are still served


def test_every_request_is_logged_as_json_without_its_query(client: TestClient) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    access = logging.getLogger("credit_engine.api.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)  # setLevel, not the attribute: it clears the logger's level cache
    try:
        client.get("/v1/public/search", params={"q": "哈尔滨市张三"})
        client.get("/v1/public/entities/91230103MA1BXXXX0Z")
        client.get("/v1/public/entities/110105194912310029")  # an ID number typed into the query page
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    assert [(line["method"], line["path"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/v1/public/search", "/v1/public/search", 200),
        ("GET", "/v1/public/entities/91230103MA1BXXXX0Z", "/v1/public/entities/{uscc}", 422),
        ("GET", "/v1/public/entities/1101051949****0029", "/v1/public/entities/{uscc}", 422),
    ]
    assert all(line["ms"] >= 0 and line["message"] == "request" for line in lines)
    assert not any("张三" in json.dumps(line, ensure_ascii=False) for line in lines)  # the searched name stays out


def test_not_ready_on_a_store_behind_the_code_s_migrations(province: Province, tmp_path) -> None:
    behind = ScriptDirectory(str(MIGRATIONS)).get_revision(HEAD).down_revision
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(engine, behind)
    engine.dispose()
    stale = province.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'behind.db'}"})
    with TestClient(create_app(stale)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"]
    assert (ready.json()["schema_revision"], ready.json()["schema_head"]) == (behind, HEAD)

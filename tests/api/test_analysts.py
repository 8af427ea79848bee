"""Analysts: versions and reports, promotion through the gate (refused, then forced with a reason
and audited), the champion reloaded in the running service without a restart."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from api import create_app
from credit_engine.scoring import lifecycle, registry
from tests.api.conftest import AS_OF, Province, auth

pytestmark = pytest.mark.xdist_group("api")


def _serving(worker: TestClient, version: str, seconds: float = 10.0) -> bool:
    """Whether the worker comes to serve ``version`` within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.get("/readyz").json()["champion"] == version:
            return True
        time.sleep(0.1)
    return False


def test_versions_reports_promotion_and_reload(client: TestClient, province: Province, monkeypatch) -> None:
    headers = auth(province, "analyst")
    first = registry.alias_version(province.settings, "champion")
    with province.engine.connect() as conn:
        second = lifecycle.train_on_store(conn, province.settings, AS_OF).version
    listed = client.get("/v1/models", headers=headers).json()
    assert [v["version"] for v in listed][:2] == [second, first] and "valid_auc" in listed[0]["metrics"]
    report = client.get(f"/v1/models/{second}", headers=headers).json()
    assert report["gate"] == [] and "challenger" in report["aliases"]
    assert (
        "reports/feature_catalogue.csv" in report["artifacts"] and report["params"]["compared_with_champion"] == first
    )
    assert client.get("/v1/models/999", headers=headers).status_code == 404
    assert client.post("/v1/models/999/promote", json={}, headers=headers).status_code == 404

    # another worker: its own process and model, told of nothing but the alias
    with TestClient(create_app(province.settings.model_copy(update={"champion_follow_seconds": 0.2}))) as worker:
        assert worker.get("/readyz").json()["champion"] == first

        monkeypatch.setattr(registry, "MAX_AUC_DROP", -1.0)  # demand an impossible gain: the gate refuses
        refused = client.post(f"/v1/models/{second}/promote", json={}, headers=headers)
        assert refused.status_code == 409 and "validation AUC" in refused.json()["detail"]["gate"][0]
        forced = client.post(
            f"/v1/models/{second}/promote", json={"reason": "rule change asked by the bureau"}, headers=headers
        ).json()
        assert forced == {"version": second, "previous": first, "forced": True, "serving": second}
        assert client.get("/readyz").json()["champion"] == second
        assert _serving(worker, second)
        with province.engine.connect() as conn:
            actor, detail = conn.exec_driver_sql(
                "SELECT actor, detail_json FROM audit_log WHERE action = "
                "'model_promote_forced' ORDER BY id DESC LIMIT 1"
            ).first()
        assert (
            actor.endswith("test-analyst") and json.loads(detail)["justification"] == "rule change asked by the bureau"
        )

        registry.client(province.settings).set_registered_model_alias(
            registry.MODEL_NAME, "champion", first
        )  # elsewhere
        reloaded = client.post("/v1/models/reload", headers=headers).json()
        assert reloaded["previous"] == second and reloaded["serving"] == first
        assert client.get("/readyz").json()["champion"] == first
        assert _serving(worker, first)

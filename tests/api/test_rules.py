"""Regulators and analysts read the rules in force on a date and what changed (audited)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Province, auth

pytestmark = pytest.mark.xdist_group("api")


def test_the_rules_in_force_and_their_diff(client: TestClient, province: Province) -> None:
    shown = client.get("/v1/rules", params={"as_of": "2025-12-25", "province": "23"}, headers=auth(province, "analyst"))
    assert shown.status_code == 200
    body = shown.json()
    assert body["rule_set"] == "cn-2025-12-25" and body["province"] == "23" and "judged date" in body["transition"]
    values = {v["path"]: v for v in body["values"]}
    general = values["penalty.tiers.general.publicity_months"]
    assert general["value"] == 12 and general["tag"] == "P" and "第107号" in general["source"]
    assert (
        values["penalty.small_fine_max_yuan"]["tag"] == "U"
        and "黑龙江" in values["penalty.small_fine_max_yuan"]["source"]
    )
    diff = client.get(
        "/v1/rules", params={"as_of": "2025-12-24", "diff": "2025-12-25"}, headers=auth(province, "regulator")
    ).json()
    changed = {
        c["path"]: (c["before"]["value"], c["after"]["value"]) for c in diff["changes"] if c["before"] and c["after"]
    }
    assert changed["penalty.tiers.general.publicity_months"] == (36, 12)
    assert changed["repair.decision_working_days"] == (15, 7)
    assert (diff["rule_set_from"], diff["rule_set_to"]) == ("cn-2021-09-01", "cn-2025-12-25")
    assert client.get("/v1/rules", headers=auth(province, "inspection")).status_code == 403
    assert client.get("/v1/rules").status_code in (401, 403)
    with province.engine.connect() as conn:
        detail = conn.exec_driver_sql(
            "SELECT detail_json FROM audit_log WHERE action = 'read_rules' ORDER BY id DESC LIMIT 1"
        ).scalar()
    assert json.loads(detail)["diff"] == "2025-12-25"

"""Small things a caller of the API meets: optional bodies that may be left out, dates that have
not come, precise words for an unknown person and for a key's role, a lower-case class, one mask
for every code in the access log, and a plan's weights explained after its draw."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api import logs
from credit_engine.records import today_in_beijing
from tests.api.conftest import AS_OF, Province, auth

pytestmark = pytest.mark.xdist_group("api")


def test_posts_whose_fields_are_all_optional_take_no_body(client: TestClient, province: Province) -> None:
    inspection = auth(province, "inspection")
    pool = [
        {"code": f"CONV-{i}", "name": f"检查员{i}", "department": "便利测试市场监管局", "authority": f"第{i}分局"}
        for i in range(4)
    ]
    assert client.put("/v1/inspections/inspectors", json=pool, headers=inspection).status_code == 200
    plan = client.post(
        "/v1/inspections/plans",
        headers=inspection,
        json={
            "title": "无正文抽查计划",
            "item": "企业公示信息抽查",
            "departments": ["便利测试市场监管局"],
            "scope": {"regions": [province.scope]},
            "as_of": AS_OF.isoformat(),
            "sample_size": 5,
        },
    ).json()
    committed = client.post(f"/v1/inspections/plans/{plan['id']}/draws", headers=inspection)
    assert committed.status_code == 201, committed.text
    draw = committed.json()["id"]
    assert client.post(f"/v1/inspections/draws/{draw}/reveal", headers=inspection).status_code == 200
    verified = client.post(f"/v1/inspections/draws/{draw}/verify", headers=inspection)
    assert verified.status_code == 200 and verified.json()["ok"] is True
    assert client.post("/v1/models/999/promote", headers=auth(province, "analyst")).status_code == 404

    weights = client.get(f"/v1/inspections/plans/{plan['id']}/weights", headers=inspection).json()
    assert "count as inspected" in weights["note"] and str(draw) in weights["note"]
    lower = client.get(f"/v1/inspections/plans/{plan['id']}/weights", params={"grade": "d"}, headers=inspection)
    upper = client.get(f"/v1/inspections/plans/{plan['id']}/weights", params={"grade": "D"}, headers=inspection)
    assert lower.status_code == 200 and lower.json()["items"] == upper.json()["items"]
    assert {i["sampled_as"] for i in lower.json()["items"]} <= {"D"}


def test_a_date_that_has_not_come_is_refused(client: TestClient, province: Province) -> None:
    regulator = auth(province, "regulator")
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql("SELECT uscc FROM entity ORDER BY uscc LIMIT 1").scalar()
    tomorrow = (today_in_beijing() + timedelta(days=1)).isoformat()
    future = client.get(f"/v1/entities/{uscc}", params={"as_of": tomorrow}, headers=regulator)
    assert future.status_code == 422 and "in the future" in future.text
    assert (
        client.get(
            f"/v1/entities/{uscc}", params={"as_of": today_in_beijing().isoformat()}, headers=regulator
        ).status_code
        == 200
    )
    number = "11010519491231002X"
    lookup = client.post("/v1/persons/lookup", json={"id_number": number, "as_of": tomorrow}, headers=regulator)
    assert lookup.status_code == 422 and "in the future" in lookup.text


def test_an_unknown_person_and_a_wrong_key_are_named_in_plain_words(client: TestClient, province: Province) -> None:
    unknown = client.post(
        "/v1/persons/lookup", json={"id_number": "11010519491231002X"}, headers=auth(province, "regulator")
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no person with this identity number"
    inspection = client.get("/v1/models", headers=auth(province, "inspection"))
    assert inspection.status_code == 403 and inspection.json()["detail"].startswith("an inspection key may not")
    analyst = client.get("/v1/inspections/policy", headers=auth(province, "analyst"))
    assert analyst.json()["detail"].startswith("an analyst key may not")
    regulator = client.get("/v1/models", headers=auth(province, "regulator"))
    assert regulator.json()["detail"].startswith("a regulator key may not")


def test_the_access_log_masks_every_code_alike(client: TestClient) -> None:
    digits, lettered = "912301031234567890", "91230606213578885G"
    assert logs.mask_path(f"/v1/entities/{digits}") == "/v1/entities/9123010312****7890"
    assert logs.mask_path(f"/entity/{lettered.lower()}") == "/entity/9123060621****885G"
    not_a_code = "/v1/public/entities/91230103MA1BXXXX0Z"  # Z is not in the alphabet
    assert logs.mask_path(not_a_code) == not_a_code
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    access = logging.getLogger("credit_engine.api.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        client.get(f"/v1/public/entities/{lettered}")
        client.get(f"/v1/public/entities/{digits}")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    assert [r.path for r in records] == [
        "/v1/public/entities/9123060621****885G",
        "/v1/public/entities/9123010312****7890",
    ]

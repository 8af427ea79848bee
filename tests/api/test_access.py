"""Every endpoint against every caller: allowed, 401 (no key, wrong key, revoked key), 403 (wrong
role, outside the regulator's regions)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from credit_engine.keys import Role, create_key, revoke_key
from tests.api.conftest import Province, auth

pytestmark = pytest.mark.xdist_group("api")

ROLES = ("regulator", "inspection", "analyst", "admin")


def _any_uscc(province: Province, inside: bool) -> str:
    sign = "" if inside else "NOT "
    with province.engine.connect() as conn:
        return conn.execute(
            text(f"SELECT uscc FROM entity WHERE name IS NOT NULL AND region_code {sign}LIKE :p ORDER BY uscc LIMIT 1"),
            {"p": f"{province.scope}%"},
        ).scalar()


def _pseudonym(province: Province) -> str:
    with province.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT person_key FROM fact WHERE kind = 'role' AND person_key IS NOT NULL ORDER BY id LIMIT 1"
        ).scalar()


def _endpoints(province: Province) -> dict[str, tuple[str, str, dict | None, set[str]]]:
    """name -> (method, path, json body, roles allowed)."""
    uscc, person = _any_uscc(province, True), _pseudonym(province)
    regulators, analysts = {"regulator", "admin"}, {"analyst", "admin"}
    return {
        "entity": ("GET", f"/v1/entities/{uscc}", None, regulators),
        "entity_as_of": ("GET", f"/v1/entities/{uscc}?as_of=2025-01-31", None, regulators),
        # the caller is checked before the parameters: no answer about them to the unauthorised
        "entity_bad_date": ("GET", f"/v1/entities/{uscc}?as_of=not-a-date", None, set()),
        "grades": ("GET", f"/v1/entities/{uscc}/grades", None, regulators),
        "list": ("GET", "/v1/entities?grade=D", None, regulators),
        "transfers": ("GET", "/v1/transfers", None, regulators),
        "person": ("GET", f"/v1/persons/{person}", None, regulators),
        "lookup": ("POST", "/v1/persons/lookup", {"id_number": "11010519491231002X"}, regulators),
        "models": ("GET", "/v1/models", None, analysts),
        "model": ("GET", "/v1/models/1", None, analysts),
        "reload": ("POST", "/v1/models/reload", None, analysts),
    }


@pytest.mark.parametrize(
    "endpoint",
    [
        "entity",
        "entity_as_of",
        "entity_bad_date",
        "grades",
        "list",
        "transfers",
        "person",
        "lookup",
        "models",
        "model",
        "reload",
    ],
)
def test_each_role_is_allowed_or_refused(client: TestClient, province: Province, endpoint: str) -> None:
    method, path, body, allowed = _endpoints(province)[endpoint]
    for role in ROLES:
        response = client.request(method, path, json=body, headers=auth(province, role))
        if endpoint == "entity_bad_date" and role in ("regulator", "admin"):
            assert response.status_code == 422, (role, response.text)
        elif role in allowed:  # the lookup's made-up identity number is nobody's: 404
            assert response.status_code == (404 if endpoint == "lookup" else 200), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert "role" in response.json()["detail"]
    for headers in ({}, {"X-API-Key": "ce_not-a-key"}, auth(province, "revoked")):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "APIKey"


def test_a_scoped_regulator_sees_only_its_regions(client: TestClient, province: Province) -> None:
    inside, outside = _any_uscc(province, True), _any_uscc(province, False)
    scoped = auth(province, "scoped")
    assert client.get(f"/v1/entities/{inside}", headers=scoped).status_code == 200
    refused = client.get(f"/v1/entities/{outside}", headers=scoped)
    assert refused.status_code == 403 and province.scope in refused.json()["detail"]
    assert client.get(f"/v1/entities/{outside}/grades", headers=scoped).status_code == 403
    listed = client.get("/v1/entities?size=500", headers=scoped).json()
    assert listed["total"] > 0 and all(i["region_code"].startswith(province.scope) for i in listed["items"])
    everything = client.get("/v1/entities?size=1", headers=auth(province, "regulator")).json()
    assert everything["total"] > listed["total"]
    other = outside[2:6]
    assert client.get(f"/v1/entities?region={other}", headers=scoped).status_code == 403
    with province.engine.connect() as conn:
        denied = conn.exec_driver_sql(
            f"SELECT actor, client FROM audit_log WHERE action = 'read_denied' AND target = '{outside}'"
        ).all()
    assert denied and denied[0][0].endswith("test-scoped") and denied[0][1] == "testclient"


def test_public_endpoints_need_no_key(client: TestClient, province: Province) -> None:
    uscc = _any_uscc(province, True)
    assert client.get(f"/v1/public/entities/{uscc}").status_code == 200
    assert client.get("/v1/public/search", params={"q": "有限公司"}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_revoked_key_is_refused_once_the_key_cache_lets_it_go(client: TestClient, province: Province) -> None:
    with province.engine.begin() as conn:
        key_id, key = create_key(conn, Role.REGULATOR, "test-to-revoke")
    headers, path = {"X-API-Key": key}, "/v1/entities?size=1"
    assert client.get(path, headers=headers).status_code == 200
    with province.engine.begin() as conn:
        assert revoke_key(conn, key_id)
    cache = client.app.state.service.keys
    assert cache.get(key) is not None  # trusted for a while: no read of the key table per request
    time.sleep(cache.seconds + 0.1)
    refused = client.get(path, headers=headers)
    assert refused.status_code == 401 and refused.json()["detail"] == "unknown or revoked API key"

"""Every query finds a registered entity by its own code, even one failing the check digit
(RULES.md §6, issue 39); an unregistered check-failed code keeps the 422 naming the check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import create_app
from credit_engine.ingest import ingest_paths
from credit_engine.keys import Role, create_key
from credit_engine.settings import Settings, get_settings
from tests.helpers import REG_HEADER, A, make_uscc, reg_rows, write_csv

PILOT = "91350211M0000XUF46"
NOBODY = make_uscc(99)  # never registered
PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]


@pytest.fixture
def served(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, str]]:
    pilot = [PILOT, "厦门试点公司", "", "", "", "", "2014-01-01", "", "", "", "存续", "", "", ""]
    ingest_paths([write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows() + [pilot])], engine, settings)
    ingest_paths(
        [
            write_csv(
                tmp_path / "pen.csv",
                PEN,
                [
                    ["试点", PILOT, "X-1", "罚款", "5", (date.today() - timedelta(days=30)).isoformat(), "局"],
                    ["甲", NOBODY[:17] + ("0" if NOBODY[17] != "0" else "1"), "X-2", "罚款", "5", "2024-03-01", "局"],
                ],
            )
        ],
        engine,
        settings,
    )
    with engine.begin() as conn:
        key = create_key(conn, Role.REGULATOR, "test")[1]
        scoped = create_key(conn, Role.REGULATOR, "scoped", ("2301",))[1]
    monkeypatch.setenv("TEST_SCOPED_KEY", scoped)
    monkeypatch.setenv("CREDIT_ENGINE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    # the reads' audit rows in the store itself, where the test looks for them
    monkeypatch.setenv("CREDIT_ENGINE_READ_AUDIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CREDIT_ENGINE_PUBLIC_RATE_LIMIT", "100000/minute")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client, key
    get_settings.cache_clear()


def test_a_registered_pilot_code_is_found_by_every_query_with_a_note(served: tuple[TestClient, str]) -> None:
    client, key = served
    public = client.get(f"/v1/public/entities/{PILOT.lower()}")
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["uscc"] == PILOT and "fails the national check" in body["code_note"]
    assert [r["document_no"] for r in body["records"]] == ["X-1"]
    hits = client.get("/v1/public/search", params={"q": PILOT}).json()["items"]
    assert [h["uscc"] for h in hits] == [PILOT] and "fails the national check" in hits[0]["code_note"]
    regulator = client.get(f"/v1/entities/{PILOT}", headers={"X-API-Key": key})
    assert regulator.status_code == 200 and "fails the national check" in regulator.json()["code_note"]
    valid = client.get(f"/v1/public/entities/{A}").json()
    assert valid["code_note"] is None


def test_an_unregistered_check_failed_code_keeps_the_422(served: tuple[TestClient, str]) -> None:
    client, key = served
    typo = A[:17] + ("0" if A[17] != "0" else "1")
    for response in (
        client.get(f"/v1/public/entities/{typo}"),
        client.get("/v1/public/search", params={"q": typo}),
        client.get(f"/v1/entities/{typo}", headers={"X-API-Key": key}),
    ):
        assert response.status_code == 422 and "check digit is" in response.json()["detail"]


def test_regulators_read_the_quarantine_audited(served: tuple[TestClient, str], engine: Engine) -> None:
    import os

    client, key = served
    body = client.get("/v1/quarantine", headers={"X-API-Key": key}, params={"reason": "uscc_check_failed_unplaced"})
    assert body.status_code == 200, body.text
    page = body.json()
    assert page["total"] == 1 and page["items"][0]["file"] == "pen.csv" and page["items"][0]["row_number"] == 2
    assert page["items"][0]["raw"]["CF_WSH"] == "X-2" and "fails the national check" in page["items"][0]["reason"]
    assert client.get("/v1/quarantine").status_code == 401
    assert client.get("/v1/quarantine", headers={"X-API-Key": os.environ["TEST_SCOPED_KEY"]}).status_code == 403
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM audit_log WHERE action = 'read_quarantine'").scalar() == 1

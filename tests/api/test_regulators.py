"""Regulators: records, grades and reasons, as of a past date exactly as the records library
gives them, grade history, paged lists, persons — and an audit row for every read."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import create_app
from credit_engine.grading import batch
from credit_engine.identifiers import uscc_check_digit
from credit_engine.records import record_as_of
from tests.api.conftest import AS_OF, LiveServer, Province, auth

pytestmark = pytest.mark.xdist_group("api")


def _penalised(province: Province) -> str:
    """An entity with a penalty recorded before AS_OF and facts recorded after it."""
    with province.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT subject_uscc FROM fact WHERE kind = 'penalty' AND subject_uscc IS NOT NULL "
            "GROUP BY subject_uscc ORDER BY COUNT(*) DESC, subject_uscc LIMIT 1"
        ).scalar()


def _audit(province: Province, action: str, target: str) -> list[tuple]:
    with province.engine.connect() as conn:
        return conn.execute(
            text("SELECT actor, at, client, detail_json FROM audit_log WHERE action = :a AND target = :t ORDER BY id"),
            {"a": action, "t": target},
        ).all()


@pytest.mark.parametrize("as_of", [date(2019, 12, 31), date(2023, 6, 30), AS_OF])
def test_an_entity_as_of_a_date_equals_the_records_library(client: TestClient, province: Province, as_of: date) -> None:
    uscc = _penalised(province)
    body = client.get(
        f"/v1/entities/{uscc}", params={"as_of": as_of.isoformat()}, headers=auth(province, "regulator")
    ).json()
    with province.engine.connect() as conn:
        expected = record_as_of(conn, uscc, as_of)
    assert body["as_of"] == as_of.isoformat() and body["rule_set_id"] == expected.rule_set_id
    got = [(f["fact_key"], f["version"], f["publicity"], f["basis"], f["under_objection"]) for f in body["facts"]]
    want = [(f.fact_key, f.version, f.publicity.value, f.basis, f.under_objection) for f in expected.facts]
    assert got == want
    assert body["entity"] == json.loads(json.dumps(expected.entity, default=str))


def test_the_current_record_carries_class_score_reasons_and_versions(client: TestClient, province: Province) -> None:
    uscc = _penalised(province)
    body = client.get(f"/v1/entities/{uscc}", headers=auth(province, "regulator")).json()
    with province.engine.connect() as conn:
        stored = batch.latest_grade(conn, uscc)
    grade = body["grade"]
    assert grade["grade"] == stored["grade"] and grade["score"] == pytest.approx(stored["score"])
    assert grade["model_version"] == stored["model_version"] and grade["rule_set_id"] == stored["rule_set_id"]
    assert grade["judgements"][0]["kind"] == "score"
    assert grade["reasons"] == batch.explain(province.settings, stored)  # the model's reason codes
    before = client.get(f"/v1/entities/{uscc}", params={"as_of": "2020-01-01"}, headers=auth(province, "regulator"))
    assert before.json()["grade"] is None  # no grade was given before the first batch's date


def test_linked_persons_are_masked_and_flags_shown(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        flagged = conn.exec_driver_sql("SELECT uscc, flag FROM link_flag ORDER BY id LIMIT 1").first()
    body = client.get(
        f"/v1/entities/{flagged[0]}", params={"as_of": AS_OF.isoformat()}, headers=auth(province, "regulator")
    ).json()
    assert flagged[1] in {f["flag"] for f in body["flags"]}
    assert body["persons"] and all("*" in (p["masked_id"] or "*") for p in body["persons"])
    reps = [p for p in body["persons"] if p["role"] == "legal_representative"]
    assert len(reps) <= 1


def test_grade_history_and_the_paged_list(client: TestClient, province: Province) -> None:
    uscc = _penalised(province)
    history = client.get(f"/v1/entities/{uscc}/grades", headers=auth(province, "regulator")).json()
    # the batch's grade is there, whatever re-grades the decisions of other tests on this entity made since
    assert history and AS_OF.isoformat() in {h["as_of"] for h in history}
    first = client.get("/v1/entities", params={"grade": "D", "size": 5}, headers=auth(province, "regulator")).json()
    second = client.get(
        "/v1/entities", params={"grade": "D", "size": 5, "page": 2}, headers=auth(province, "regulator")
    ).json()
    assert first["total"] == second["total"] > 5
    assert {i["grade"] for i in first["items"] + second["items"]} == {"D"}
    assert not {i["uscc"] for i in first["items"]} & {i["uscc"] for i in second["items"]}
    with province.engine.connect() as conn:
        d_count = int((batch.export_grades(conn)["grade"] == "D").sum())  # held now (re-grades included)
    assert first["total"] == d_count
    industry = first["items"][0]["industry_code"][:1]
    narrowed = client.get(
        "/v1/entities", params={"industry": industry, "size": 500}, headers=auth(province, "regulator")
    ).json()
    assert narrowed["items"] and all(i["industry_code"].startswith(industry) for i in narrowed["items"])


def test_a_person_by_pseudonym_and_by_identity_number(client: TestClient, province: Province) -> None:
    number = sorted(n for n in province.identity_numbers if len(n) == 18)[0]
    found = client.post(
        "/v1/persons/lookup",
        json={"id_number": number, "as_of": AS_OF.isoformat()},
        headers=auth(province, "regulator"),
    )
    if found.status_code == 404:  # a planted number of a person never stored (quarantined row)
        number = sorted(n for n in province.identity_numbers if len(n) == 18)[1]
        found = client.post("/v1/persons/lookup", json={"id_number": number}, headers=auth(province, "regulator"))
    assert found.status_code == 200, found.text
    person = found.json()
    assert number not in found.text and "*" in person["masked_id"]
    again = client.get(
        f"/v1/persons/{person['pseudonym']}", params={"as_of": AS_OF.isoformat()}, headers=auth(province, "regulator")
    ).json()
    assert again["roles"] == person["roles"]
    bad = client.post(
        "/v1/persons/lookup",
        json={"id_number": number[:-1] + ("0" if number[-1] != "0" else "1")},
        headers=auth(province, "regulator"),
    )
    assert bad.status_code == 422 and "check" in bad.json()["detail"]


def test_every_regulator_read_is_audited_with_who_what_when_and_from_where(
    client: TestClient, province: Province
) -> None:
    uscc = _penalised(province)
    before = len(_audit(province, "read_entity", uscc))
    client.get(f"/v1/entities/{uscc}", params={"as_of": "2024-05-01"}, headers=auth(province, "regulator"))
    client.get(f"/v1/entities/{uscc}/grades", headers=auth(province, "admin"))
    rows = _audit(province, "read_entity", uscc)
    assert len(rows) == before + 1
    actor, at, where, detail = rows[-1]
    assert actor.endswith("test-regulator") and where == "testclient" and at is not None
    assert json.loads(detail) == {"path": f"/v1/entities/{uscc}", "role": "regulator", "as_of": "2024-05-01"}
    assert _audit(province, "read_grades", uscc)[-1][0].endswith("test-admin")


def test_bad_codes_and_unknown_entities(client: TestClient, province: Province) -> None:
    headers = auth(province, "regulator")
    wrong = client.get("/v1/entities/91230103MA1BXXXX0Y", headers=headers)
    assert wrong.status_code == 422 and "check" in wrong.json()["detail"]
    assert client.get("/v1/entities/9123", headers=headers).status_code == 422
    unknown = "91230103MA1BXXXX0" + uscc_check_digit("91230103MA1BXXXX0")
    assert client.get(f"/v1/entities/{unknown}", headers=headers).status_code == 404
    assert _audit(province, "read_missing", unknown)[-1][0].endswith("test-regulator")
    nobody = "0" * 32
    assert client.get(f"/v1/persons/{nobody}", headers=headers).status_code == 404
    assert _audit(province, "read_missing", f"person:{nobody}")[-1][0].endswith("test-regulator")


def test_a_page_of_classes_is_audited_entity_by_entity_and_counted_by_model_version(
    client: TestClient, province: Province
) -> None:
    def served() -> float:
        exposed = client.get("/metrics", headers=auth(province, "admin")).text
        return sum(
            float(line.split()[-1])
            for line in exposed.splitlines()
            if line.startswith("credit_engine_grades_served_total{")
        )

    before = served()
    page = client.get("/v1/entities", params={"grade": "C", "size": 7}, headers=auth(province, "regulator")).json()
    assert len(page["items"]) == 7 and served() == before + 7
    detail = json.loads(_audit(province, "list_entities", "entities")[-1][3])
    assert detail["returned"] == [i["uscc"] for i in page["items"]] and detail["grade"] == "C"
    scoped = client.get("/v1/entities", params={"region": "11"}, headers=auth(province, "scoped"))
    assert scoped.status_code == 403
    actor, _, _, denied = _audit(province, "list_denied", "entities")[-1]
    assert actor.endswith("test-scoped") and json.loads(denied)["region"] == "11"


def test_reason_codes_are_computed_once_per_stored_grade(
    app, client: TestClient, province: Province, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, calls = app.state.service, []
    real = batch.explain
    monkeypatch.setattr(
        "api.service.batch.explain", lambda *a, **k: calls.append(a[1]["model_version"]) or real(*a, **k)
    )
    service._reasons.clear()
    uscc = _penalised(province)
    served = [client.get(f"/v1/entities/{uscc}", headers=auth(province, "regulator")).json()["grade"] for _ in range(3)]
    assert len(calls) == 1 and served[0]["reasons"] == served[1]["reasons"] == served[2]["reasons"]
    with province.engine.connect() as conn:
        row = batch.latest_grade(conn, uscc)
    assert served[0]["reasons"] == real(province.settings, row) and served[0]["reasons"]


def test_more_lookups_at_once_than_worker_threads_and_connections_all_answer(province: Province) -> None:
    """128 lookups at once, over a real socket: more than the worker threads (40) and the pool.
    Requests waiting for the pool inside worker threads used to starve those holding the
    connections, and the service froze until the pool's 30-second timeout."""
    settings = province.settings.model_copy(update={"api_db_connections": 2})
    with province.engine.connect() as conn:
        usccs = [u for (u,) in conn.exec_driver_sql("SELECT uscc FROM entity ORDER BY uscc LIMIT 128")]

    async def lookups(base: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=base,
            headers=auth(province, "regulator"),
            timeout=20,
            limits=httpx.Limits(max_connections=len(usccs)),
        ) as http:
            return await asyncio.gather(*(http.get(f"/v1/entities/{u}") for u in usccs))

    with LiveServer(create_app(settings)) as base:
        answers = asyncio.run(lookups(base))
    assert [r.status_code for r in answers] == [200] * len(usccs)
    assert [r.json()["uscc"] for r in answers] == usccs


def test_the_transfer_worklist_is_the_library_s_scoped_and_audited(client: TestClient, province: Province) -> None:
    from credit_engine.workflows.transfers import transfers_due

    with province.engine.connect() as conn:
        expected = transfers_due(conn, AS_OF)
    body = client.get(
        "/v1/transfers", params={"as_of": AS_OF.isoformat(), "size": 500}, headers=auth(province, "regulator")
    ).json()
    assert body["total"] == len(expected) > 0 and body["due"] == sum(t.stage == "due" for t in expected)
    assert [i["uscc"] for i in body["items"]] == [t.uscc for t in expected][:500]
    assert {i["stage"] for i in body["items"]} <= {"warn", "due"}
    scoped = client.get(
        "/v1/transfers", params={"as_of": AS_OF.isoformat(), "size": 500}, headers=auth(province, "scoped")
    ).json()
    assert all(i["region_code"].startswith(province.scope) for i in scoped["items"]) and scoped["total"] < body["total"]
    listed = _audit(province, "list_transfers", "transfers")
    assert listed[-1][0].endswith("test-scoped") and json.loads(listed[-1][3])["regions"] == [province.scope]

"""Credit repair and objections through the API: filed by the public, followed by ticket, decided
by regulators with the entity re-graded at once; conflicts, scope, overdue list and metric."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from credit_engine.records import today_in_beijing
from credit_engine.workflows import cases, objection, repair
from tests.api.conftest import Province, auth, published_penalties

pytestmark = pytest.mark.xdist_group("api")


def repairable(province: Province, skip: set[str]) -> tuple[str, object]:
    """A published penalty that every repair condition allows today (period, later penalties, lists)."""
    today = today_in_beijing()
    for uscc, fact in published_penalties(province):
        if uscc in skip:
            continue
        with province.engine.connect() as conn:
            stored = cases.current_fact(conn, uscc, fact.fact_key)
            applied = repair.RepairApplication(
                uscc, fact.fact_key, "申请企业", True, True, (repair.Evidence("fine_paid", "罚款缴纳凭证"),)
            )
            if repair.assess(stored, applied, today, repair.standing_of(conn, stored, today)).eligible:
                return uscc, fact
    raise AssertionError("the province has no repairable penalty")


def application(uscc: str, ref: str, **changes) -> dict:
    return {
        "uscc": uscc,
        "ref": ref,
        "applicant": "申请企业",
        "contact": "0451-88886666",
        "obligations_performed": True,
        "commitment_signed": True,
        "commitment_text": "本企业承诺……",
        "evidence": [{"kind": "fine_paid", "description": "罚款缴纳凭证"}],
    } | changes


def public_refs(client: TestClient, uscc: str) -> dict[str, dict]:
    return {r["ref"]: r for r in client.get(f"/v1/public/entities/{uscc}").json()["records"]}


def test_repair_filed_followed_approved_and_regraded_at_once(client: TestClient, province: Province) -> None:
    uscc, fact = repairable(province, set())
    assert fact.ref in public_refs(client, uscc)
    filed = client.post("/v1/public/repairs", json=application(uscc, fact.ref))
    assert filed.status_code == 201, filed.text
    ticket = filed.json()
    assert ticket["status"] == "pending" and ticket["deadline"] > today_in_beijing().isoformat()
    followed = client.get(f"/v1/public/cases/{ticket['ticket']}").json()
    assert followed["status"] == "pending" and "contact" not in followed and "0451" not in str(followed)

    regulator = auth(province, "regulator")
    read = client.get(f"/v1/cases/{ticket['ticket']}", headers=regulator).json()
    assert read["contact"] == "0451-88886666" and read["assessment"]["eligible"] is True
    decided = client.post(
        f"/v1/cases/{ticket['ticket']}/decision",
        headers=regulator,
        json={"outcome": "approved", "reasons": ["罚款已缴纳，已整改"], "revision": read["revision"]},
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["case"]["outcome"] == "approved" and body["grade"]["as_of"] == today_in_beijing().isoformat()

    entity = client.get(f"/v1/entities/{uscc}", headers=regulator).json()
    assert entity["grade"]["batch_id"] == body["grade"]["batch_id"]  # the new grade is the one served
    repaired = next(f for f in entity["facts"] if f["fact_key"] == fact.fact_key)
    assert repaired["publicity"] == "repaired" and repaired["detail"]["repair"]["ticket"] == ticket["ticket"]
    assert fact.ref not in public_refs(client, uscc)  # publicity stopped
    assert client.get(f"/v1/public/cases/{ticket['ticket']}").json()["outcome"] == "approved"
    again = client.post(
        f"/v1/cases/{ticket['ticket']}/decision", headers=regulator, json={"outcome": "rejected", "reasons": ["再议"]}
    )
    assert again.status_code == 409 and "closed" in again.json()["detail"]


def test_an_ineligible_application_is_refused_with_reasons(client: TestClient, province: Province) -> None:
    uscc, fact = next(published_penalties(province))
    refused = client.post("/v1/public/repairs", json=application(uscc, fact.ref, commitment_signed=False))
    assert refused.status_code == 201
    body = refused.json()
    assert body["status"] == "refused" and body["deadline"] is None
    assert any("信用承诺书" in r for r in body["reasons"])


def test_bad_requests_get_precise_answers(client: TestClient, province: Province) -> None:
    uscc, fact = next(published_penalties(province))
    assert client.post("/v1/public/repairs", json=application(uscc, "0000000000000000")).status_code == 422
    assert "no record published" in client.post("/v1/public/repairs", json=application(uscc, "0000000000000000")).text
    bad_code = client.post(
        "/v1/public/objections",
        json={"uscc": "91230103MA1BXXXX0Y", "ref": fact.ref, "ground": "error", "statement": "x", "objector": "y"},
    )
    assert bad_code.status_code == 422 and "check" in bad_code.text
    bad_ground = client.post(
        "/v1/public/objections",
        json={"uscc": uscc, "ref": fact.ref, "ground": "dislike", "statement": "x", "objector": "y"},
    )
    assert bad_ground.status_code == 422
    assert client.get("/v1/public/cases/R20260101-000000000000").status_code == 404
    assert client.get("/v1/cases", headers=auth(province, "analyst")).status_code == 403
    assert client.get("/v1/cases").status_code == 401


def test_objection_marks_then_removal_regrades(client: TestClient, province: Province) -> None:
    uscc, fact = list(published_penalties(province))[-1]
    filed = client.post(
        "/v1/public/objections",
        json={
            "uscc": uscc,
            "ref": fact.ref,
            "ground": "duplicate",
            "statement": "同一决定重复公示",
            "objector": "张三",
            "contact": "13800000000",
            "evidence": [{"kind": "document", "description": "决定书复印件"}],
        },
    )
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    assert public_refs(client, uscc)[fact.ref]["under_objection"] is True  # marked at once
    regulator = auth(province, "regulator")
    wrong = client.post(
        f"/v1/cases/{ticket}/decision", headers=regulator, json={"outcome": "approved", "reasons": ["x"]}
    )
    assert wrong.status_code == 422 and "objection is decided" in wrong.text
    extended = client.post(
        f"/v1/cases/{ticket}/extension", headers=regulator, json={"working_days": 15, "reason": "需原决定机关核实"}
    ).json()
    assert extended["limit_working_days"] == 20
    too_long = client.post(
        f"/v1/cases/{ticket}/extension", headers=regulator, json={"working_days": 1, "reason": "再延"}
    )
    assert too_long.status_code == 422 and "20" in too_long.text
    removed = client.post(
        f"/v1/cases/{ticket}/decision",
        headers=regulator,
        json={"outcome": "removed", "reasons": ["重复公示，予以撤下"]},
    ).json()
    assert removed["grade"] is not None and removed["fact_version"] >= 2
    assert fact.ref not in public_refs(client, uscc)
    entity = client.get(f"/v1/entities/{uscc}", headers=regulator).json()
    assert entity["grade"]["batch_id"] == removed["grade"]["batch_id"]
    assert next(f for f in entity["facts"] if f["fact_key"] == fact.fact_key)["publicity"] == "removed"


def test_scoped_regulators_see_only_their_regions_cases(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        regions = dict(conn.exec_driver_sql("SELECT uscc, region_code FROM entity").all())
    outside = next((u, f) for u, f in published_penalties(province) if not regions[u].startswith(province.scope))
    ticket = client.post(
        "/v1/public/objections",
        json={
            "uscc": outside[0],
            "ref": outside[1].ref,
            "ground": "error",
            "statement": "金额有误",
            "objector": "李四",
        },
    ).json()
    scoped = auth(province, "scoped")
    assert client.get(f"/v1/cases/{ticket['ticket']}", headers=scoped).status_code == 403
    listed = client.get("/v1/cases", headers=scoped).json()
    assert ticket["ticket"] not in {c["ticket"] for c in listed["items"]}
    assert ticket["ticket"] in {
        c["ticket"]
        for c in client.get("/v1/cases", headers=auth(province, "regulator"), params={"size": 200}).json()["items"]
    }


def test_overdue_list_and_metric(client: TestClient, province: Province) -> None:
    uscc, fact = next(published_penalties(province))
    with province.engine.begin() as conn:  # filed long ago and never decided
        late = objection.file(
            conn, objection.Objection(uscc, fact.ref, "error", "逾期未处理", "王五"), date(2026, 3, 2)
        )
    overdue = client.get(
        "/v1/cases", params={"overdue": "true", "size": 200}, headers=auth(province, "regulator")
    ).json()
    assert late.ticket in {c["ticket"] for c in overdue["items"]}
    assert all(c["overdue"] and c["status"] == "pending" for c in overdue["items"])
    with province.engine.connect() as conn:
        count = conn.execute(
            text("SELECT COUNT(*) FROM credit_case WHERE kind = 'objection' AND status = 'pending' AND deadline < :d"),
            {"d": today_in_beijing()},
        ).scalar()
    exposed = client.get("/metrics", headers=auth(province, "admin")).text
    assert f'credit_engine_cases_overdue{{kind="objection"}} {float(count)}' in exposed

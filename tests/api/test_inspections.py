"""Inspection systems and 一公开 over HTTP: roles, policy, plans, weights (paged, CSV, Parquet),
a committed then revealed draw that anyone can verify from the public endpoints, results back
with precise 422s, and a public page without classes, scores, π per class or personal data."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import text

from api.deps import public_client
from api.routers import disclosure
from api.routers import public as public_api
from credit_engine.records import today_in_beijing
from credit_engine.sampling import blinding, draw
from tests.api.conftest import AS_OF, LiveServer, Province, auth
from tests.api.test_page import CHROMIUM

pytestmark = pytest.mark.xdist_group("api")

DEPARTMENT = "接口测试市场监管局"
CLASS_WORDS = re.compile(
    r'"(grade|score|sampled_as|pi|pi_units|reason|why|summary|inspectors|name_of_inspector)"'
    r"|信用风险(低|一般|较高|高)|[ABCD]类"
)


def _plan(province: Province, **changes: object) -> dict:
    return {
        "title": "接口测试抽查计划",
        "item": "企业公示信息抽查",
        "departments": [DEPARTMENT],
        "scope": {"regions": [province.scope]},
        "as_of": AS_OF.isoformat(),
        "sample_size": 15,
        **changes,
    }


@pytest.fixture(scope="module")
def drawn(client: TestClient, province: Province) -> dict:
    """A plan of the scoped region with a pool of inspectors, committed and revealed."""
    pool = [
        {"code": f"API-{i}", "name": f"检查员{i}", "department": DEPARTMENT, "authority": f"第{i % 3}分局"}
        for i in range(6)
    ]
    assert client.put("/v1/inspections/inspectors", json=pool, headers=auth(province, "inspection")).json() == {
        "upserted": 6
    }
    plan = client.post("/v1/inspections/plans", json=_plan(province), headers=auth(province, "inspection"))
    assert plan.status_code == 201, plan.text
    committed = client.post(
        f"/v1/inspections/plans/{plan.json()['id']}/draws", json={}, headers=auth(province, "inspection")
    )
    assert committed.status_code == 201, committed.text
    public_before = client.get(f"/v1/public/draws/{committed.json()['id']}").json()
    revealed = client.post(
        f"/v1/inspections/draws/{committed.json()['id']}/reveal", json={}, headers=auth(province, "inspection")
    )
    assert revealed.status_code == 200, revealed.text
    return {"plan": plan.json(), "committed": committed.json(), "before": public_before, "drawn": revealed.json()}


def test_only_inspection_systems_and_admins_may_sample(client: TestClient, province: Province) -> None:
    assert client.get("/v1/inspections/policy").status_code == 401
    assert client.get("/v1/inspections/policy", headers=auth(province, "regulator")).status_code == 403
    for role in ("inspection", "admin"):
        assert client.get("/v1/inspections/policy", headers=auth(province, role)).status_code == 200
    public = [
        r
        for r in (*public_api.router.routes, *disclosure.router.routes, *disclosure.pages.routes)
        if isinstance(r, APIRoute)
    ]
    assert len(public) >= 6
    for route in public:  # every public endpoint, the 一公开 ones included, is rate-limited
        assert public_client in [d.call for d in route.dependant.dependencies], route.path


def test_the_policy_in_force_with_its_key_areas(client: TestClient, province: Province) -> None:
    body = client.get(
        "/v1/inspections/policy", params={"on": AS_OF.isoformat()}, headers=auth(province, "inspection")
    ).json()
    assert body["id"] == "heilongjiang-lindian-2024" and "食品" in body["key_areas"]
    assert [(c["grade"], c["default_ratio"], c["min_interval_days"]) for c in body["classes"]] == [
        ("A", 0.03, 369),
        ("B", 0.10, 365),
        ("C", 0.40, 184),
        ("D", 0.80, None),
    ]
    other = client.get(
        "/v1/inspections/policy", params={"policy_id": "yancheng-2022"}, headers=auth(province, "inspection")
    ).json()
    assert other["classes"][3]["ratio_range"] == [0.8, 1.0]


def test_plans_outside_the_policy_get_a_422_naming_the_rule(client: TestClient, province: Province) -> None:
    for changes, message in (
        ({"ratios": {"B": 0.5}}, "outside the range 0.05–0.2"),
        ({"key_area": "烟花爆竹"}, "not a key area"),
        ({"sample_size": 5, "base_ratio": 0.1}, "not both"),
    ):
        response = client.post(
            "/v1/inspections/plans", json=_plan(province, **changes), headers=auth(province, "inspection")
        )
        assert response.status_code == 422 and message in response.text


def test_weights_paged_and_downloaded_add_up_to_the_sample(client: TestClient, province: Province, drawn: dict) -> None:
    plan_id = drawn["plan"]["id"]
    page = client.get(
        f"/v1/inspections/plans/{plan_id}/weights", params={"size": 7}, headers=auth(province, "inspection")
    ).json()
    assert page["total"] == drawn["committed"]["frame_size"] and len(page["items"]) == 7
    assert {"uscc", "grade", "pi", "reason", "why"} <= set(page["items"][0])
    assert sum(c["expected_draws"] for c in page["summary"]) == pytest.approx(15)
    csv = client.get(f"/v1/inspections/plans/{plan_id}/weights.csv", headers=auth(province, "inspection"))
    parquet = client.get(f"/v1/inspections/plans/{plan_id}/weights.parquet", headers=auth(province, "inspection"))
    from_csv = pd.read_csv(io.StringIO(csv.text), dtype={"uscc": str})
    from_parquet = pd.read_parquet(io.BytesIO(parquet.content))
    assert len(from_csv) == len(from_parquet) == page["total"]
    assert from_csv["pi"].sum() == pytest.approx(15, abs=1e-6) and from_parquet["pi"].sum() == pytest.approx(
        15, abs=1e-6
    )
    assert from_csv["uscc"].tolist() == from_parquet["uscc"].tolist() == sorted(from_csv["uscc"])
    with province.engine.connect() as conn:
        actions = {
            a for (a,) in conn.execute(text("SELECT action FROM audit_log WHERE target = :t"), {"t": f"plan:{plan_id}"})
        }
    assert {"plan_create", "read_weights", "export_weights"} <= actions  # reading classes is audited


def test_the_commitment_is_public_before_the_seed_and_the_sample(client: TestClient, drawn: dict) -> None:
    before, committed = drawn["before"], drawn["committed"]
    assert before["status"] == "committed" and before["seed"] is None and before["sample"] == []
    assert before["frame_hash"] == committed["frame_hash"] and before["commitment"] == committed["commitment"]
    assert committed["seed"] is None  # not even the inspection system sees it before the reveal


def test_anyone_can_verify_a_published_draw(client: TestClient, province: Province, drawn: dict) -> None:
    draw_id = drawn["committed"]["id"]
    public = client.get(f"/v1/public/draws/{draw_id}").json()
    frame = client.get(f"/v1/public/draws/{draw_id}/frame").content
    opened = [(s["uscc"], s["opening"]) for s in public["sample"]]
    assert len(opened) == 15 and draw.sha256(frame) == public["frame_hash"]
    assert draw.verify_public(
        frame, public["seed"], public["salt"], public["commitment"], public["frame_hash"], public["sample_size"], opened
    ).ok
    assert not draw.verify_public(
        frame,
        public["seed"] + "x",
        public["salt"],
        public["commitment"],
        public["frame_hash"],
        public["sample_size"],
        opened,
    ).ok
    assert not draw.verify_public(
        frame,
        public["seed"],
        public["salt"],
        public["commitment"],
        public["frame_hash"],
        public["sample_size"],
        opened[:-1],
    ).ok  # an entity left out of the sample
    assert [s["uscc"] for s in public["sample"]] == [s["uscc"] for s in drawn["drawn"]["sample"]]
    assert client.post(f"/v1/inspections/draws/{draw_id}/verify", json={}, headers=auth(province, "inspection")).json()[
        "ok"
    ]
    other = client.post(
        f"/v1/inspections/draws/{draw_id}/verify", json={"seed": "not-the-seed"}, headers=auth(province, "inspection")
    ).json()
    assert not other["ok"] and not other["commitment_matches"]
    again = client.post(f"/v1/inspections/draws/{draw_id}/reveal", json={}, headers=auth(province, "inspection"))
    assert again.status_code == 409


def test_publication_has_no_class_score_pi_or_personal_data(
    client: TestClient, province: Province, drawn: dict
) -> None:
    draw_id = drawn["committed"]["id"]
    internal = drawn["drawn"]["sample"]
    assert all(s["inspectors"] and s["pi"] > 0 for s in internal)  # the internal view has them
    frame = client.get(f"/v1/public/draws/{draw_id}/frame").text
    for path in (f"/v1/public/draws/{draw_id}", "/v1/public/plans", f"/inspections?draw={draw_id}"):
        body = client.get(path).text
        assert not CLASS_WORDS.search(body), path
        assert not [n for n in province.identity_numbers if n in body]
        assert "检查员" not in body and "API-" not in body  # no inspector, by name or code
    assert not any(s["uscc"] in frame for s in internal)  # the frame is blinded


def test_no_drawn_entitys_pi_or_class_can_be_read_from_the_public_draw(
    client: TestClient, province: Province, drawn: dict
) -> None:
    """Issue 34 item 5: an opening used to find the entity's π in the published frame (π is the
    class). Now the frame line it finds seals π: only the entity's receipt (opening, nonce, π,
    internal) opens the seal."""
    draw_id = drawn["committed"]["id"]
    frame = client.get(f"/v1/public/draws/{draw_id}/frame").text
    lines = dict(line.split(",") for line in frame.splitlines())
    internal = {s["uscc"]: s for s in drawn["drawn"]["sample"]}
    for entry in client.get(f"/v1/public/draws/{draw_id}").json()["sample"]:
        shown = lines[blinding.token(entry["uscc"], entry["opening"])]
        pi = internal[entry["uscc"]]
        assert shown != f"{pi['pi']:.9f}" and not re.fullmatch(r"[01]\.\d{9}", shown)
        assert {blinding.seal("0" * 32, units) for units in range(0, 10**9 + 1, 10**7)}.isdisjoint({shown})
        assert shown == blinding.seal(pi["nonce"], round(pi["pi"] * 10**9))  # the receipt opens it


def test_the_auditor_re_runs_a_draw_in_full_read_only_and_audited(
    client: TestClient, province: Province, drawn: dict
) -> None:
    draw_id, public = drawn["committed"]["id"], drawn["drawn"]
    for role, code in ((None, 401), ("regulator", 403), ("inspection", 403)):
        headers = auth(province, role) if role else {}
        assert client.get(f"/v1/audit/draws/{draw_id}/frame", headers=headers).status_code == code
    rows = client.get(f"/v1/audit/draws/{draw_id}/frame", headers=auth(province, "auditor"))
    assert rows.status_code == 200 and len(rows.json()) == public["frame_size"]
    frame = client.get(f"/v1/public/draws/{draw_id}/frame").content
    sample = [s["uscc"] for s in public["sample"]]
    full = pd.DataFrame(rows.json())
    assert draw.verify_full(
        full, frame, public["seed"], public["salt"], public["commitment"], public["frame_hash"], sample
    ).ok
    moved = full.assign(pi_units=full["pi_units"].iloc[::-1].to_numpy())  # other π than committed
    assert not draw.verify_full(
        moved, frame, public["seed"], public["salt"], public["commitment"], public["frame_hash"], sample
    ).frame_hash_matches
    verified = client.get(f"/v1/audit/draws/{draw_id}/verification", headers=auth(province, "auditor")).json()
    assert verified["ok"], verified
    with province.engine.connect() as conn:
        actions = [
            a
            for (a,) in conn.execute(
                text("SELECT action FROM audit_log WHERE target = :t ORDER BY id"), {"t": f"draw:{draw_id}"}
            )
        ]
    assert actions[-2:] == ["audit_read_frame", "audit_verify_draw"]
    assert (
        client.post("/v1/inspections/plans", json=_plan(province), headers=auth(province, "auditor")).status_code == 403
    )
    assert client.get(f"/v1/inspections/draws/{draw_id}", headers=auth(province, "auditor")).status_code == 403


def test_results_come_back_as_facts_with_the_draws_pi(client: TestClient, province: Province, drawn: dict) -> None:
    draw_id, sample = drawn["committed"]["id"], drawn["drawn"]["sample"]
    rows = [
        {"uscc": s["uscc"], "inspected_on": today_in_beijing().isoformat(), "result": "未发现问题", "draw_id": draw_id}
        for s in sample[:5]
    ]
    posted = client.post("/v1/inspections/results", json={"results": rows}, headers=auth(province, "inspection"))
    assert posted.status_code == 200, posted.text
    assert posted.json()["facts_new"] == 5
    assert (
        client.post("/v1/inspections/results", json={"results": rows}, headers=auth(province, "inspection")).json()[
            "status"
        ]
        == "unchanged"
    )
    with province.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT subject_uscc, detail_json FROM fact WHERE kind = 'inspection' AND document_no = :t "
                "AND superseded_at IS NULL"
            ),
            {"t": f"draw-{draw_id}"},
        ).all()
    pi = {s["uscc"]: s["pi"] for s in sample}
    assert {u: pd.io.json.ujson_loads(d)["inclusion_probability"] for u, d in stored} == pytest.approx(
        {s["uscc"]: pi[s["uscc"]] for s in sample[:5]}
    )
    public = client.get(f"/v1/public/draws/{draw_id}").json()["sample"]
    assert [s["results"] for s in public[:5]] == [["未发现问题"]] * 5 and public[5]["results"] == []

    bad = [
        {**rows[0], "result": "大概没问题"},
        {**rows[1], "draw_id": draw_id + 10_000},
        {**rows[2], "inclusion_probability": 0.5},
    ]
    refused = client.post("/v1/inspections/results", json={"results": bad}, headers=auth(province, "inspection"))
    assert refused.status_code == 422
    detail = {tuple(d["loc"]): d["msg"] for d in refused.json()["detail"]}
    assert detail[("body", "results", 0, "result")].startswith("'大概没问题' is not a known result")
    assert detail[("body", "results", 1, "draw_id")] == f"no drawn draw {draw_id + 10_000}"
    assert "leave it out" in detail[("body", "results", 2, "inclusion_probability")]


def test_the_public_page_shows_the_draw_without_classes(client: TestClient, drawn: dict) -> None:
    draw_id = drawn["committed"]["id"]
    page = client.get("/inspections", params={"draw": draw_id})
    assert page.status_code == 200
    assert drawn["committed"]["frame_hash"] in page.text and drawn["drawn"]["seed"] in page.text
    assert all(s["uscc"] in page.text for s in drawn["drawn"]["sample"])
    assert "接口测试抽查计划" in client.get("/inspections").text
    assert client.get("/inspections", params={"draw": 10**9}).status_code == 404


def test_a_key_area_plan_covers_the_whole_scope(client: TestClient, province: Province) -> None:
    plan = client.post(
        "/v1/inspections/plans",
        json=_plan(
            province, key_area="食品", sample_size=None, scope={"regions": [province.scope], "industries": ["F"]}
        ),
        headers=auth(province, "inspection"),
    ).json()
    weights = client.get(
        f"/v1/inspections/plans/{plan['id']}/weights", params={"size": 1000}, headers=auth(province, "inspection")
    ).json()
    assert weights["total"] > 0 and weights["sample_size"] == weights["total"]
    assert {i["pi"] for i in weights["items"]} == {1.0} and {i["reason"] for i in weights["items"]} == {"key_area"}


def test_the_publication_page_in_a_browser(app: FastAPI, drawn: dict, tmp_path: Path) -> None:
    draw_id = drawn["committed"]["id"]
    with LiveServer(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.goto(base + "/")
        page.get_by_role("link", name="双随机抽查公示").click()
        page.get_by_role("link", name=f"批次 {draw_id}", exact=True).first.click()
        card = page.locator("#draw-card")
        expect(card.locator(".frame-hash")).to_have_text(drawn["committed"]["frame_hash"])
        expect(card.locator(".seed")).to_have_text(drawn["drawn"]["seed"])
        expect(card.locator("table.sample tr")).to_have_count(len(drawn["drawn"]["sample"]) + 1)
        assert not CLASS_WORDS.search(page.locator("body").inner_text())
        shot = tmp_path / "inspections.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        browser.close()

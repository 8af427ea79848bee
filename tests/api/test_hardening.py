"""Issue 34, items 7–16: audit gaps, limits, forwarded addresses, operations exposure, the 5xx an
adversarial run found. Each test failed on the code before the fix."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from credit_engine.identifiers import mask_ids_in_text, uscc_check_digit
from tests.api.conftest import Province, auth
from tests.api.test_inspections import drawn  # noqa: F401 (a fixture)

pytestmark = pytest.mark.xdist_group("api")


def _audit(province: Province, action: str, target: str | None = None) -> list[tuple]:
    also = "" if target is None else " AND target = :t"
    with province.engine.connect() as conn:
        return conn.execute(
            text(f"SELECT actor, target, client, detail_json FROM audit_log WHERE action = :a{also} ORDER BY id"),
            {"a": action, "t": target},
        ).all()


# ------------------------------------------------------------------------------ 13: audit gaps


def test_a_regulator_s_read_of_an_unknown_ticket_is_audited(client: TestClient, province: Province) -> None:
    assert client.get("/v1/cases/NO-SUCH-TICKET", headers=auth(province, "regulator")).status_code == 404
    assert _audit(province, "read_missing", "NO-SUCH-TICKET")[-1][0].endswith("test-regulator")


def test_lookups_with_an_invalid_code_or_id_number_are_audited_without_the_number(
    client: TestClient, province: Province
) -> None:
    headers = auth(province, "regulator")
    bad = "91230103MA1BXXXX0" + ("0" if uscc_check_digit("91230103MA1BXXXX0") != "0" else "1")
    assert client.get(f"/v1/entities/{bad}", headers=headers).status_code == 422
    assert _audit(province, "read_invalid", bad)[-1][0].endswith("test-regulator")
    assert client.get("/v1/cases", params={"uscc": "9123"}, headers=headers).status_code == 422
    assert _audit(province, "read_invalid", "9123")
    before = len(_audit(province, "read_invalid", "person"))
    number = "230102198507154329"  # a wrong check digit
    assert client.post("/v1/persons/lookup", json={"id_number": number}, headers=headers).status_code == 422
    rows = _audit(province, "read_invalid", "person")
    assert len(rows) == before + 1 and number not in json.dumps(list(rows[-1]))


def test_a_read_ending_in_a_server_error_is_audited(
    app: FastAPI, client: TestClient, province: Province, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.routers import entities

    def broken(*args: object) -> None:
        raise RuntimeError("the store fell over")

    monkeypatch.setattr(entities.batch, "grade_history", broken)
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql("SELECT uscc FROM grade ORDER BY id LIMIT 1").scalar()
    failing = TestClient(app, raise_server_exceptions=False)
    answer = failing.get(f"/v1/entities/{uscc}/grades", headers=auth(province, "regulator"))
    assert answer.status_code == 500 and "fell over" not in answer.text
    actor, target, _, detail = _audit(province, "read_failed")[-1]
    assert actor.endswith("test-regulator") and target == mask_ids_in_text(f"/v1/entities/{uscc}/grades")
    assert json.loads(detail)["error"] == "RuntimeError"


def test_reading_a_draw_with_its_sample_is_audited(client: TestClient, province: Province, drawn: dict) -> None:  # noqa: F811
    draw_id = drawn["committed"]["id"]
    before = len(_audit(province, "read_draw", f"draw:{draw_id}"))
    assert client.get(f"/v1/inspections/draws/{draw_id}", headers=auth(province, "inspection")).status_code == 200
    rows = _audit(province, "read_draw", f"draw:{draw_id}")
    assert len(rows) == before + 1 and rows[-1][0].endswith("test-inspection")


# ----------------------------------------------------------------------- 7: bodies and echoes


def test_a_large_body_is_refused_before_it_is_read(client: TestClient, province: Province) -> None:
    limit = province.settings.public_max_body_bytes
    big = {"uscc": "x" * (limit + 10)}
    answer = client.post("/v1/public/objections", json=big)
    assert answer.status_code == 413 and str(limit) in answer.json()["detail"]

    def chunks():  # no Content-Length: counted while it arrives
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000

    streamed = client.post("/v1/public/objections", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    keyed = client.post(
        "/v1/persons/lookup",
        content=b"{" + b" " * (province.settings.max_body_bytes + 1) + b"}",
        headers={**auth(province, "regulator"), "content-type": "application/json"},
    )
    assert keyed.status_code == 413


def test_validation_errors_never_echo_the_input(client: TestClient) -> None:
    marker = "回显标记" * 200
    answer = client.post("/v1/public/objections", json={"statement": marker, "evidence": [{"description": marker}]})
    assert answer.status_code == 422 and len(answer.json()["detail"]) >= 4
    assert marker[:8] not in answer.text and len(answer.text) < 2000
    assert all(set(e) == {"type", "loc", "msg"} for e in answer.json()["detail"])


# ---------------------------------------------------------------------- 8: text fields bounded


def test_decision_reasons_and_corrections_are_bounded(client: TestClient, province: Province) -> None:
    headers = auth(province, "regulator")
    long = client.post(
        "/v1/cases/NO-SUCH/decision", json={"outcome": "upheld", "reasons": ["长" * 2001]}, headers=headers
    )
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "reasons", 0]
    odd = client.post(
        "/v1/cases/NO-SUCH/decision",
        headers=headers,
        json={"outcome": "corrected", "reasons": ["x"], "correction": {"anything": "x"}},
    )
    assert odd.status_code == 422


# --------------------------------------------------------------------------- 9: X-Forwarded-For


def test_forwarded_addresses_count_only_from_configured_proxies(province: Province) -> None:
    from api import create_app

    def seen(trusted: str, peer: str, forwarded: str) -> str | None:
        app = create_app(province.settings.model_copy(update={"trusted_proxies": trusted}))
        with TestClient(app, client=(peer, 5000)) as caller:
            caller.get(
                "/v1/cases/NO-SUCH-FORWARDED", headers={**auth(province, "regulator"), "X-Forwarded-For": forwarded}
            )
        return _audit(province, "read_missing", "NO-SUCH-FORWARDED")[-1][2]

    assert seen("", "127.0.0.1", "203.0.113.9") == "127.0.0.1"  # off by default, even from loopback
    assert seen("10.0.0.0/8", "192.0.2.1", "203.0.113.9") == "192.0.2.1"  # the peer is no proxy of ours
    assert seen("10.0.0.0/8", "10.0.0.2", "198.51.100.7, 203.0.113.9, 10.0.0.5") == "203.0.113.9"  # right-most
    assert seen("10.0.0.0/8", "10.0.0.2", "203.0.113.9, <script>") == "10.0.0.2"  # not an address: kept out
    with pytest.raises(ValueError, match="not an IP address"):
        create_app(province.settings.model_copy(update={"trusted_proxies": "proxy.example"}))


# ----------------------------------------------------------------- 10: same origin and headers


def test_a_cross_site_form_post_is_refused_and_pages_carry_security_headers(client: TestClient) -> None:
    form = {"uscc": "91230103MA1BXXXX0Y", "ref": "x", "ground": "error", "statement": "s", "objector": "o"}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Referer": "https://evil.example/page"},
    ):
        refused = client.post("/objection", data=form, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, headers
    own = client.post("/objection", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert own.status_code == 422  # reached the form's own checks
    for path in ("/", "/objection", "/case/NONE", "/inspections"):
        page = client.get(path)
        assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
    assert client.get("/v1/public/search", params={"q": "哈尔滨"}).headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------------------ 14: no 5xx


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_days_outside_the_supported_range_are_422(client: TestClient, province: Province, day: str) -> None:
    headers = auth(province, "regulator")
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql("SELECT uscc FROM grade ORDER BY id LIMIT 1").scalar()
    for path in ("/v1/transfers", f"/v1/entities/{uscc}", "/v1/entities", f"/v1/persons/{'0' * 32}"):
        assert client.get(path, params={"as_of": day}, headers=headers).status_code == 422, path
    lookup = client.post("/v1/persons/lookup", json={"id_number": "11010519491231002X", "as_of": day}, headers=headers)
    assert lookup.status_code == 422


def test_inputs_that_ended_in_server_errors(client: TestClient, province: Province) -> None:
    headers = auth(province, "regulator")
    assert client.get("/v1/cases", params={"page": 10**20}, headers=headers).status_code == 422
    nameless = client.put(
        "/v1/inspections/inspectors",
        headers=auth(province, "inspection"),
        json=[{"code": "NO-AUTH", "name": "某", "department": "某局"}],
    )
    assert nameless.status_code == 422 and nameless.json()["detail"][0]["loc"][-1] == "authority"
    assert client.get("/v1/inspections/inspectors", headers=auth(province, "inspection")).status_code == 200
    uscc, fact = next(iter(_published(province)))
    blank = client.post(
        "/v1/public/repairs",
        json={
            "uscc": uscc,
            "ref": fact.ref,
            "applicant": "某",
            "obligations_performed": True,
            "commitment_signed": True,
            "evidence": [{"kind": "fine_paid", "description": "   "}],
        },
    )
    assert blank.status_code == 422
    page = client.post(
        "/objection",
        data={
            "uscc": uscc,
            "ref": fact.ref,
            "ground": "error",
            "statement": "s",
            "objector": "o",
            "evidence": "长" * 2001,
        },
    )
    assert page.status_code == 422 and "evidence" in page.text
    for body in ('{"uscc": "\\ud800", "ref": "x"}', '{"id_number": "\\u0000"}'):
        for path, who in (("/v1/public/objections", {}), ("/v1/persons/lookup", headers)):
            answer = client.post(path, content=body, headers={**who, "content-type": "application/json"})
            assert answer.status_code == 422, (path, body, answer.text)
    assert client.get("/v1/public/search", params={"q": "哈尔\x00滨"}).status_code == 422
    assert client.get("/v1/public/cases/R2026%00X").status_code == 422
    assert client.get("/case/R2026%00X").status_code == 422


def _published(province: Province):
    from tests.api.conftest import published_penalties

    return published_penalties(province)


# ------------------------------------------------------------------ 15: operations endpoints


def test_metrics_and_docs_are_for_admins_or_loopback_and_readiness_hides_internals(
    app: FastAPI, province: Province, tmp_path
) -> None:
    from api import create_app

    remote = TestClient(app, client=("203.0.113.9", 5000))
    for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
        assert remote.get(path).status_code == 401, path
        assert remote.get(path, headers=auth(province, "regulator")).status_code == 403, path
        assert remote.get(path, headers=auth(province, "admin")).status_code == 200, path
        assert TestClient(app, client=("127.0.0.1", 5000)).get(path).status_code == 200, path
    assert remote.get("/healthz").json() == {"status": "ok"}
    opened = create_app(province.settings.model_copy(update={"operations_access": "open"}))
    with TestClient(opened, client=("203.0.113.9", 5000)) as anyone:
        assert anyone.get("/openapi.json").status_code == 200
    hidden = province.settings.model_copy(update={"mlflow_tracking_uri": "http://mlflow.internal.example:5000"})
    with TestClient(create_app(hidden)) as bare:
        ready = bare.get("/readyz")
    assert ready.status_code == 503 and "mlflow.internal" not in ready.text and ready.json()["champion_problem"]


# ------------------------------------------------------------------- 16: the development secret


def test_the_development_secret_is_refused_beyond_loopback(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from credit_engine.settings import get_settings
    from pipelines.cli import app as cli

    monkeypatch.delenv("CREDIT_ENGINE_PSEUDONYM_SECRET", raising=False)
    monkeypatch.delenv("CREDIT_ENGINE_ENV", raising=False)
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    monkeypatch.setattr("pipelines.cli.upgrade", lambda engine: None)  # no store needed to refuse a start
    get_settings.cache_clear()
    try:
        for host in ("0.0.0.0", "192.0.2.10", "::"):
            refused = CliRunner().invoke(cli, ["serve", "--host", host])
            assert refused.exit_code == 2 and "development pseudonym secret" in refused.output
        assert not started
        local = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1"])
        assert local.exit_code == 0 and "development default" in local.output
        assert started[-1]["proxy_headers"] is False  # X-Forwarded-For is read by the app's rules alone
    finally:
        get_settings.cache_clear()


# ------------------------------------------------------------- 12: reads beside an SQLite writer


def test_a_regulator_read_answers_while_another_writer_holds_the_sqlite_store(province: Province, tmp_path) -> None:
    """An ingest holds the store's write lock for a whole file: each read's audit row waited for it
    (30 s, then 500 "database is locked"). The rows of reads now go to an audit database of their own."""
    import sqlite3

    from api import create_app
    from credit_engine.store.db import make_engine

    if province.engine.dialect.name != "sqlite":
        pytest.skip("a database server does not lock the store for a writer")
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    app = create_app(province.settings.model_copy(update={"read_audit_database_url": audit_url}))
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql("SELECT uscc FROM grade ORDER BY id LIMIT 1").scalar()
    writer = sqlite3.connect(province.engine.url.database, isolation_level=None)
    with TestClient(app) as caller:
        writer.execute("BEGIN IMMEDIATE")  # what an ingest holds
        try:
            answers = [caller.get(f"/v1/entities/{uscc}", headers=auth(province, "regulator")) for _ in range(3)]
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert [a.status_code for a in answers] == [200, 200, 200]
    from credit_engine.store.audit import verify

    reads = make_engine(audit_url)
    with reads.connect() as conn:
        rows = conn.exec_driver_sql("SELECT action, target FROM audit_log").all()
        assert rows == [("read_entity", uscc)] * 3 and verify(conn).intact
    reads.dispose()

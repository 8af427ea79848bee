"""The public query: published information only, never a class, a score or a full identity
number (checked on every public endpoint against the IDs planted in the source files); precise
422s; search by code and by name; the rate limit over a real HTTP server."""

from __future__ import annotations

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import create_app
from credit_engine import search as search_module
from credit_engine.records import Publicity, current_record
from tests.api.conftest import LiveServer, Province
from tests.conftest import LIMIT_STORAGES

pytestmark = pytest.mark.xdist_group("api")

FORBIDDEN_WORDS = (
    '"grade"',
    '"score"',
    '"model_',
    '"flags"',
    '"pseudonym"',
    '"person_key"',
    '"legal_rep_key"',
    '"masked_id"',
    '"reasons"',
    "信用风险低",
    "信用风险一般",
    "信用风险较高",
    "信用风险高",
)


def _people_entities(province: Province, limit: int = 40) -> list[str]:
    """Entities with persons, court or penalty records: where identity numbers could leak."""
    with province.engine.connect() as conn:
        return [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT DISTINCT subject_uscc FROM fact WHERE subject_uscc IS NOT NULL AND kind IN "
                f"('role', 'court', 'penalty', 'serious') ORDER BY subject_uscc LIMIT {limit}"
            )
        ]


def _clean(province: Province, body: str) -> None:
    leaked = [n for n in province.identity_numbers if n in body]
    assert not leaked, f"full identity numbers in a public response: {leaked[:3]}"
    assert not [w for w in FORBIDDEN_WORDS if w in body]


def test_public_responses_never_carry_identity_numbers_classes_or_scores(
    client: TestClient, province: Province
) -> None:
    assert len(province.identity_numbers) > 100  # the province really has planted numbers
    names = []
    for uscc in _people_entities(province):
        for path in (f"/v1/public/entities/{uscc}", f"/entity/{uscc}", f"/?q={uscc}"):
            response = client.get(path)
            assert response.status_code == 200
            _clean(province, response.text)
        names.append(client.get(f"/v1/public/entities/{uscc}").json()["entity"].get("name"))
    for name in filter(None, names[:10]):
        for path in (f"/v1/public/search?q={name[:4]}", f"/?q={name[:4]}"):
            _clean(province, client.get(path).text)
    for number in sorted(province.identity_numbers)[:5]:  # searching by a person's number finds nothing
        response = client.get("/v1/public/search", params={"q": number})
        assert response.status_code in (200, 422) and number not in response.text.replace(f"'{number}'", "")


def test_the_public_view_shows_exactly_the_published_records(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        uscc = conn.exec_driver_sql(
            "SELECT subject_uscc FROM fact WHERE kind IN ('tax', 'complaint') "
            "AND subject_uscc IS NOT NULL ORDER BY id LIMIT 1"
        ).scalar()
        record = current_record(conn, uscc)
    body = client.get(f"/v1/public/entities/{uscc}").json()
    published = [f for f in record.facts if f.publicity is Publicity.PUBLISHED and f.kind != "registration"]
    assert [(r["kind"], r["document_no"]) for r in body["records"]] == [(f.kind, f.document_no) for f in published]
    assert {"tax", "complaint", "commitment"}.isdisjoint({r["kind"] for r in body["records"]})
    assert set(body["entity"]) <= {
        "name",
        "market_type",
        "legal_rep_name",
        "established_on",
        "industry_code",
        "address",
        "authority",
        "reg_status",
        "business_scope",
    }


def test_invalid_codes_get_a_422_naming_the_failed_check(client: TestClient) -> None:
    """In English with a code for programs, and in Chinese for people."""
    bad_check = client.get("/v1/public/entities/91230103MA1BXXXX0Y").json()
    assert "check" in bad_check["detail"] and bad_check["code"] == "invalid_uscc"
    assert bad_check["message"] == "统一社会信用代码校验位应为8，输入的是Y，请核对后重新输入。"
    bad_char = client.get("/v1/public/entities/91230103MA1BXXXXOY")
    assert bad_char.status_code == 422 and "position 17" in bad_char.json()["detail"]
    assert bad_char.json()["message"].startswith("统一社会信用代码第17位的“O”不是代码使用的字符")
    short = client.get("/v1/public/entities/912301")
    assert short.status_code == 422 and "length 6" in short.json()["detail"]
    assert short.json()["message"] == "统一社会信用代码应为18位，输入的是6位。"
    assert client.get("/v1/public/search", params={"q": "91230103MA1BXXXX0Y"}).status_code == 422
    unknown = client.get("/v1/public/entities/91230103MA1BXXXX08").json()
    assert unknown["code"] == "unknown_entity" and unknown["message"].startswith("未找到统一社会信用代码为")
    ticket = client.get("/v1/public/cases/R20260101-0000").json()
    assert ticket["code"] == "unknown_ticket" and "未找到受理编号" in ticket["message"]
    invalid = client.get("/v1/public/search", params={"q": "有限", "page": 0}).json()
    assert invalid["code"] == "invalid_request" and invalid["message"] == "页码：数值过小。"
    assert invalid["detail"][0]["loc"] == ["query", "page"]  # FastAPI's own detail stays


def test_search_by_code_prefix_part_and_typo(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        uscc, name = conn.exec_driver_sql(
            "SELECT uscc, name FROM entity WHERE LENGTH(name) >= 8 ORDER BY uscc LIMIT 1"
        ).first()
    search = lambda q: client.get("/v1/public/search", params={"q": q}).json()["items"]  # noqa: E731
    assert search(uscc.lower()) == [
        {
            "uscc": uscc,
            "name": name,
            "match": "code",
            "code_note": None,
            **{k: v for k, v in search(uscc)[0].items() if k in ("reg_status", "address")},
        }
    ]
    prefix = search(name[:5])
    assert prefix and all(h["name"].startswith(name[:5]) for h in prefix if h["match"] == "prefix")
    assert uscc in {h["uscc"] for h in search(name[2:8])}
    typo = name[:3] + "某" + name[4:]  # one character wrong: neither prefix nor part matches
    fuzzy = search(typo)
    assert uscc in {h["uscc"] for h in fuzzy if h["match"] == "fuzzy"}
    assert not [h for h in search("%_") if h["match"] in ("prefix", "contains")]  # LIKE wildcards are escaped
    short = client.get("/v1/public/search", params={"q": " 鱻 "})  # one character once stripped
    assert short.status_code == 422 and "2 characters" in short.text and "请至少输入2个字" in short.json()["message"]


def test_search_counts_every_match_and_pages_through_them(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        part = conn.exec_driver_sql(
            "SELECT SUBSTR(name, 1, 2) AS p FROM entity WHERE name IS NOT NULL GROUP BY p "
            "ORDER BY COUNT(*) DESC, p LIMIT 1"
        ).scalar()
        holding = conn.execute(text("SELECT uscc, name FROM entity WHERE name LIKE :p"), {"p": f"%{part}%"}).all()
    assert len(holding) > 25
    pages = [
        client.get("/v1/public/search", params={"q": part, "size": 10, "page": n}).json()
        for n in range(1, len(holding) // 10 + 2)
    ]
    assert {p["total"] for p in pages} == {len(holding)} and not any(p["more"] for p in pages)
    found = [h["uscc"] for p in pages for h in p["items"]]
    assert sorted(found) == sorted(u for u, _ in holding)  # every match once, across the pages
    kinds = [h["match"] for p in pages for h in p["items"]]
    assert kinds == sorted(kinds, key=lambda k: k != "prefix")  # names starting with the query first


def test_a_typo_finds_its_entity_among_names_sharing_only_the_legal_form(
    client: TestClient, province: Province, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few candidates, as a province's millions of names make them: those sharing the most pieces
    of the query must be among them, not the first names holding 有限 or 公司."""
    monkeypatch.setattr(search_module, "FUZZY_CANDIDATES", 30)
    with province.engine.connect() as conn:
        named = conn.execute(
            text(
                "SELECT uscc, name FROM entity WHERE name LIKE :form AND LENGTH(name) >= 10 ORDER BY uscc DESC LIMIT 5"
            ),
            {"form": "%有限公司"},
        ).all()
    for uscc, name in named:
        typo = name[:3] + "某" + name[4:]
        hits = client.get("/v1/public/search", params={"q": typo}).json()["items"]
        assert uscc in {h["uscc"] for h in hits if h["match"] == "fuzzy"}, name


@pytest.mark.parametrize("storage", LIMIT_STORAGES)
def test_the_public_rate_limit_answers_429_with_retry_after(province: Province, storage: str) -> None:
    if storage.startswith("redis"):
        redis.Redis.from_url(storage).flushdb()  # counters of an earlier run in this minute
    settings = province.settings.model_copy(update={"public_rate_limit": "5/minute", "rate_limit_storage": storage})
    with LiveServer(create_app(settings)) as base, httpx.Client(base_url=base) as http:
        codes = [http.get("/v1/public/search", params={"q": "有限公司"}).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        refused = http.get("/v1/public/search", params={"q": "有限公司"})
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["code"] == "rate_limited"
        assert refused.json()["message"] == f"查询过于频繁，请{refused.headers['Retry-After']}秒后再试。"
        assert http.get("/healthz").status_code == 200  # operations are not limited
        regulator = http.get("/v1/entities?size=1", headers={"X-API-Key": province.keys["regulator"]})
        assert regulator.status_code == 200  # nor are keyed callers


def test_the_card_shows_listing_grounds_in_chinese_not_as_codes(client: TestClient, province: Province) -> None:
    with province.engine.connect() as conn:
        listed = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT DISTINCT subject_uscc FROM fact WHERE kind = 'abnormal' AND category = 'annual_report' "
                "AND superseded_at IS NULL ORDER BY subject_uscc LIMIT 40"
            )
        ]
        shown = [
            u
            for u in listed
            if any(
                f.kind == "abnormal" and f.category == "annual_report" and f.publicity is Publicity.PUBLISHED
                for f in current_record(conn, u).facts
            )
        ]
    assert shown, "the province has entities on the abnormal list for a missing annual report"
    page = client.get(f"/entity/{shown[0]}").text
    assert "未按照规定期限公示年度报告" in page and "annual_report" not in page


@pytest.mark.parametrize("storage", LIMIT_STORAGES)
def test_workers_share_the_public_limit_through_redis_and_only_through_it(province: Province, storage: str) -> None:
    """Two apps stand for two worker processes: in memory each counts its own callers; in Redis
    the limit is the service's."""
    shared = storage.startswith("redis")
    if shared:
        redis.Redis.from_url(storage).flushdb()
    settings = province.settings.model_copy(update={"public_rate_limit": "5/minute", "rate_limit_storage": storage})
    with LiveServer(create_app(settings)) as one, LiveServer(create_app(settings)) as two:
        codes = [
            httpx.get(f"{base}/v1/public/search", params={"q": "有限公司"}).status_code
            for base in (one, two, one, two, one, two, one)
        ]
    assert codes == ([200] * 5 + [429] * 2 if shared else [200] * 7)

"""The public page in a real headless Chromium (Debian's package, driven by Playwright), at a
desktop width and a phone's: search with paging and an exact code, each error page, a corrected
record, a repair and an objection filed and followed by ticket, the 一公开 page, /docs with the
network blocked. Every page the browser renders is checked for English sentences, rule-set ids,
identity numbers, classes and sideways scroll; screenshots are kept in the test's tmp folder.

One browser for the module; each test runs at both widths."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy import text

from api import create_app
from tests.api.conftest import AS_OF, LiveServer, Province, auth, published_penalties

pytestmark = pytest.mark.xdist_group("api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CLASS_LABELS = re.compile(r"信用风险(低|一般|较高|高)|风险等级|[ABCD]类")
#: Four or more English words in a row: a sentence (codes, hashes and single words are not).
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,}){3,}")
RULE_SET_ID = re.compile(r"cn-\d{4}-\d{2}-\d{2}")
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def base(app: FastAPI) -> Iterator[str]:
    with LiveServer(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A page at one width that can reach only the loopback address: no CDN, no internet."""
    context = browser.new_context(locale="zh-CN", viewport={"width": WIDTHS[request.param], "height": 900})
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if re.match(r"^(https?|wss?)://127\.0\.0\.1[:/]", route.request.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    opened = context.new_page()
    opened.blocked = blocked  # type: ignore[attr-defined]
    yield opened
    context.close()


def look(page: Page, province: Province, shots: Path, name: str) -> str:
    """Check the page as a member of the public sees it, keep a screenshot, return its text."""
    text = page.locator("body").inner_text()
    html = page.content()
    assert not ENGLISH.findall(text), f"English on {page.url}: {ENGLISH.findall(text)[:3]}"
    assert not RULE_SET_ID.search(html), f"a rule-set id on {page.url}"
    assert not CLASS_LABELS.search(text)
    assert not [n for n in province.identity_numbers if n in html]
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width[0]} px wide in a {width[1]} px window"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{name}-{page.viewport_size['width']}.png"), full_page=True)
    return text


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return tmp_path / "screenshots"


def _common_prefix(province: Province) -> tuple[str, int]:
    """A name prefix more than two pages of entities share, with the number of names holding it."""
    with province.engine.connect() as conn:
        prefix = conn.exec_driver_sql(
            "SELECT SUBSTR(name, 1, 3) AS p FROM entity WHERE name IS NOT NULL GROUP BY p "
            "HAVING COUNT(*) > 45 ORDER BY COUNT(*) DESC, p LIMIT 1"
        ).scalar()
        count = conn.execute(text("SELECT COUNT(*) FROM entity WHERE name LIKE :p"), {"p": f"%{prefix}%"}).scalar()
    return prefix, count


def test_search_counts_every_match_pages_them_and_an_exact_code_opens_the_card(
    page: Page, base: str, province: Province, client: TestClient, shots: Path
) -> None:
    prefix, count = _common_prefix(province)
    api = client.get("/v1/public/search", params={"q": prefix, "size": 20}).json()
    assert api["total"] == count and api["size"] == 20 and len(api["items"]) == 20
    page.goto(base + "/")
    page.get_by_role("searchbox").fill(prefix)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#total")).to_contain_text(f"共找到 {count} 条结果")
    first = page.locator(".result a").all_inner_texts()
    assert len(first) == 20
    look(page, province, shots, "search")
    page.get_by_role("link", name="下一页").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    second = page.locator(".result a").all_inner_texts()
    assert second and not set(first) & set(second)
    again = client.get("/v1/public/search", params={"q": prefix, "page": 2}).json()["items"]
    assert second == [h["name"] for h in again]

    uscc = api["items"][0]["uscc"]
    page.goto(base + "/")
    page.get_by_role("searchbox").fill(f" {uscc.lower()} ")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(f"{base}/entity/{uscc}")
    expect(page.locator("#entity-card")).to_contain_text(uscc)
    look(page, province, shots, "card")


def test_every_error_is_a_chinese_page_of_the_site(
    page: Page, base: str, province: Province, shots: Path, app: FastAPI
) -> None:
    cases = {
        "/?q=91230103MA1BXXXX0Y": (422, "统一社会信用代码校验位应为"),
        "/?q=%20%E9%B1%BB%20": (422, "请至少输入2个字"),
        "/entity/912301": (422, "统一社会信用代码应为18位，输入的是6位"),
        "/no/such/page": (404, "页面不存在"),
        "/case/R20260101-000000000000": (404, "未找到受理编号"),
        "/case?ticket=": (422, "请输入受理编号"),
        "/?page=0": (422, "页码"),
        "/inspections?draw=987654": (404, "未找到抽取批次"),
    }
    for path, (status, words) in cases.items():
        response = page.goto(base + path)
        assert response.status == status, path
        assert "text/html" in response.headers["content-type"], path
        expect(page.get_by_role("alert")).to_contain_text(words)
        look(page, province, shots, f"error-{status}-{len(path)}")
    page.goto(base + "/")
    page.get_by_role("searchbox").fill("")
    page.get_by_role("button", name="查询").click()  # the box is required: the browser keeps the page
    expect(page).to_have_url(base + "/")

    limited = create_app(province.settings.model_copy(update={"public_rate_limit": "2/minute"}))
    with LiveServer(limited) as other:
        for _ in range(2):
            assert page.goto(other + "/").status == 200
        refused = page.goto(other + "/?q=有限公司")
        assert refused.status == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        expect(page.get_by_role("alert")).to_contain_text(re.compile(r"查询过于频繁，请\d+秒后再试"))
        look(page, province, shots, "error-429")


def _penalty(province: Province, index: int):
    """A published penalty, not under objection, of an entity the other modules leave alone."""
    found = [(u, f) for u, f in published_penalties(province)]
    middle = len(found) // 2
    seen = set()
    for uscc, fact in found[middle:]:
        if uscc in seen:
            continue
        seen.add(uscc)
        if len(seen) == 1 + index:
            return uscc, fact
    raise AssertionError("not enough published penalties")


def test_a_corrected_record_shows_its_corrected_values_everywhere(
    page: Page, base: str, province: Province, client: TestClient, shots: Path, request: pytest.FixtureRequest
) -> None:
    uscc, fact = _penalty(province, 2 * list(WIDTHS).index(request.node.callspec.params["page"]))
    old = fact.amount_yuan
    assert old and f"{old:.0f}" in (fact.detail.get("content") or ""), fact.detail  # the text names the fine
    filed = client.post(
        "/v1/public/objections",
        json={"uscc": uscc, "ref": fact.ref, "ground": "error", "statement": "罚款金额有误", "objector": "李四"},
    )
    assert filed.status_code == 201, filed.text
    new = float(max(1, int(old) // 10))
    decided = client.post(
        f"/v1/cases/{filed.json()['ticket']}/decision",
        headers=auth(province, "regulator"),
        json={"outcome": "corrected", "reasons": ["金额录入有误，予以更正"], "correction": {"amount_yuan": new}},
    )
    assert decided.status_code == 200, decided.text
    page.goto(f"{base}/entity/{uscc}")
    block = page.locator(f"#record-{fact.ref}")
    expect(block.locator(".mark.corrected")).to_contain_text(re.compile(r"已更正（\d{4}-\d{2}-\d{2}）"))
    text = block.inner_text()
    assert f"{new:,.2f}" in text and f"{new:.0f}元" in text.replace(",", "")
    assert f"{old:.0f}元" not in text.replace(",", "") and f"{old:,.2f}" not in text
    look(page, province, shots, "corrected")
    page.goto(f"{base}/case/{filed.json()['ticket']}")
    expect(page.locator("#outcome")).to_have_text("已更正")
    expect(page.locator("#record-label")).to_contain_text(fact.document_no)


def test_file_a_repair_and_an_objection_and_follow_both_tickets(
    page: Page, base: str, province: Province, shots: Path, request: pytest.FixtureRequest
) -> None:
    uscc, fact = _penalty(province, 1 + 2 * list(WIDTHS).index(request.node.callspec.params["page"]))
    page.goto(f"{base}/entity/{uscc}")
    block = page.locator(f"#record-{fact.ref}")
    expect(block.locator(".mark.objection")).to_have_count(0)
    look(page, province, shots, "entity")

    block.get_by_role("link", name="申请信用修复").click()
    expect(page.locator("#record-label")).to_contain_text(f"行政处罚 {fact.document_no}")
    form = page.locator("#repair-form")
    form.get_by_label("已纠正失信行为").check()  # the commitment is left out: refused with the reason
    form.get_by_label("证明材料说明").fill("罚款缴纳凭证")
    look(page, province, shots, "repair-form")
    form.get_by_role("button", name="提交申请").click()
    expect(page.locator("#filed")).to_be_visible()
    expect(page.locator("#status")).to_have_text("不予受理")
    expect(page.locator("#record-label")).to_contain_text(fact.document_no)
    reasons = page.locator(".reason").all_inner_texts()
    assert any("信用承诺书" in r for r in reasons) and all(re.search(r"[\u4e00-\u9fff]", r) for r in reasons)
    repair_ticket = page.locator("#ticket").inner_text()
    look(page, province, shots, "repair-ticket")

    page.goto(f"{base}/entity/{uscc}")
    page.locator(f"#record-{fact.ref}").get_by_role("link", name="对此信息提出异议").click()
    expect(page.locator("#record-label")).to_contain_text(f"行政处罚 {fact.document_no}")
    form = page.locator("#objection-form")
    form.get_by_label("异议理由").select_option("error")
    form.get_by_label("异议人").fill("张三")
    form.get_by_role("button", name="提交异议").click()  # the statement is required: the browser stops it
    expect(page).to_have_url(re.compile(r"/objection\?"))
    form.get_by_label("异议内容").fill("罚款金额与决定书记载不一致")
    form.get_by_label("联系方式（仅供处理机关使用，不予公开）").fill("13800000000")
    form.get_by_role("button", name="提交异议").click()
    expect(page.locator("#filed")).to_be_visible()
    expect(page.locator("#status")).to_have_text("处理中")
    expect(page.locator("#record-label")).to_contain_text(f"行政处罚 {fact.document_no}")
    objection_ticket = page.locator("#ticket").inner_text()
    assert "13800000000" not in page.content()
    look(page, province, shots, "objection-ticket")
    page.locator("#case-card").get_by_role("link").first.click()
    expect(page.locator(f"#record-{fact.ref} .mark.objection")).to_have_count(1)

    typed = {repair_ticket: f"  {repair_ticket.lower()} ", objection_ticket: "0" + objection_ticket[1:].upper()}
    for ticket, as_typed in typed.items():
        page.goto(f"{base}/entity/{uscc}")
        page.get_by_placeholder("受理编号").fill(as_typed)
        page.get_by_role("button", name="查询处理进度").click()
        expect(page.locator("#ticket")).to_have_text(ticket)
        look(page, province, shots, f"follow-{ticket[0]}")


@pytest.fixture(scope="module")
def drawn(client: TestClient, province: Province) -> int:
    inspection = auth(province, "inspection")
    pool = [
        {"code": f"PAGE-{i}", "name": f"检查员{i}", "department": "页面测试市场监管局", "authority": f"第{i}分局"}
        for i in range(4)
    ]
    assert client.put("/v1/inspections/inspectors", json=pool, headers=inspection).status_code == 200
    plan = client.post(
        "/v1/inspections/plans",
        headers=inspection,
        json={
            "title": "页面测试抽查计划",
            "item": "企业公示信息抽查",
            "departments": ["页面测试市场监管局"],
            "scope": {"regions": [province.scope]},
            "as_of": AS_OF.isoformat(),
            "sample_size": 8,
        },
    )
    assert plan.status_code == 201, plan.text
    draw = client.post(f"/v1/inspections/plans/{plan.json()['id']}/draws", headers=inspection)
    assert draw.status_code == 201, draw.text
    assert client.post(f"/v1/inspections/draws/{draw.json()['id']}/reveal", headers=inspection).status_code == 200
    return draw.json()["id"]


def test_the_inspection_page_explains_dates_and_checks_without_sideways_scroll(
    page: Page, base: str, province: Province, drawn: int, shots: Path
) -> None:
    page.goto(base + "/inspections")
    plan = page.locator(".plan", has_text="页面测试抽查计划")
    expect(plan).to_contain_text(re.compile(r"批次 \d+：\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间） 公布名录"))
    expect(page.get_by_text("哈希值证明什么")).to_be_visible()
    look(page, province, shots, "plans")
    plan.get_by_role("link", name=f"批次 {drawn}").click()
    card = page.locator("#draw-card")
    expect(card).to_contain_text("抽取时间")
    expect(card.locator(".seed")).to_be_visible()
    assert "numpy" not in card.inner_text().lower()
    look(page, province, shots, "draw")
    with page.expect_download() as download:
        page.locator("#check-download").click()
    sheet = Path(download.value.path()).read_text(encoding="utf-8-sig")
    seed = card.locator(".seed").inner_text()
    assert "核验方法" in sheet and seed in sheet and card.locator(".frame-hash").inner_text() in sheet


def test_the_docs_render_with_the_network_blocked(page: Page, base: str) -> None:
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("credit-engine")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    page.goto(base + "/redoc")
    expect(page.locator("h1", has_text="credit-engine")).to_be_visible(timeout=20_000)
    needed = [u for u in page.blocked if re.search(r"\.(js|css|woff2?)(\?|$)", u)]  # type: ignore[attr-defined]
    assert not needed, needed  # (ReDoc's footer logo, an image from its maker's site, stays away offline)


def test_no_public_page_rendered_by_the_server_carries_english_or_rule_set_ids(
    client: TestClient, province: Province
) -> None:
    """The pages a person can reach without a browser too (errors included), as served."""
    uscc, fact = _penalty(province, 4)
    with province.engine.connect() as conn:
        listed = (
            conn.exec_driver_sql(
                "SELECT subject_uscc FROM fact WHERE kind IN ('abnormal', 'serious', 'court') "
                "AND subject_uscc IS NOT NULL ORDER BY subject_uscc LIMIT 3"
            )
            .scalars()
            .all()
        )
    paths = [
        "/",
        "/?q=有限公司",
        "/?q=有限公司&page=2",
        f"/entity/{uscc}",
        f"/objection?uscc={uscc}&ref={fact.ref}",
        f"/repair?uscc={uscc}&ref={fact.ref}",
        f"/objection?uscc={uscc}",
        "/objection",
        "/repair",
        "/inspections",
        "/?q=91230103MA1BXXXX0Y",
        "/?q=912301031234567",
        "/?q=00000000000000000X",
        "/case/x",
        "/nothing",
        *[f"/entity/{u}" for u in listed],
    ]
    for path in paths:
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        visible = re.sub(r"<style.*?</style>|<[^>]+>", " ", response.text, flags=re.S)
        assert not ENGLISH.findall(visible), (path, ENGLISH.findall(visible)[:3])
        assert not RULE_SET_ID.search(response.text), path
    refused = client.post(
        "/repair", data={"uscc": uscc, "ref": fact.ref, "applicant": "申请企业"}, follow_redirects=False
    )
    assert refused.status_code == 303  # a refused application gets its ticket, with the reasons
    ticket_page = client.get(refused.headers["location"]).text
    assert not RULE_SET_ID.search(ticket_page) and "信用承诺书" in ticket_page
    assert not ENGLISH.findall(re.sub(r"<style.*?</style>|<[^>]+>", " ", ticket_page, flags=re.S))

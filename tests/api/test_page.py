"""The public query page in a real headless Chromium (Debian's package, driven by Playwright):
search, open a card, no full identity number and no class on the page, a screenshot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect, sync_playwright

from credit_engine.records import current_record
from tests.api.conftest import LiveServer, Province, published_penalties

pytestmark = pytest.mark.xdist_group("api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CLASS_LABELS = re.compile(r"信用风险(低|一般|较高|高)|风险等级|[ABCD]类")


def test_search_open_a_card_and_see_only_published_information(app: FastAPI, province: Province,
                                                                tmp_path: Path) -> None:
    with province.engine.connect() as conn:
        uscc, name = conn.exec_driver_sql(
            "SELECT e.uscc, e.name FROM entity e JOIN fact f ON f.subject_uscc = e.uscc AND f.kind = 'penalty' "
            "WHERE e.name IS NOT NULL GROUP BY e.uscc, e.name ORDER BY COUNT(*) DESC, e.uscc LIMIT 1").first()
    with LiveServer(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.goto(base + "/")
        page.get_by_role("searchbox").fill(name[:6])
        page.get_by_role("button", name="查询").click()
        results = page.locator(".result")
        expect(results.first).to_be_visible()
        page.get_by_role("link", name=name).click()
        card = page.locator("#entity-card")
        expect(card).to_contain_text(uscc)
        expect(page.get_by_role("heading", name=re.compile("行政处罚信息"))).to_be_visible()
        expect(page.locator("#objection-link")).to_have_attribute("href", f"/objection?uscc={uscc}")
        text = page.locator("body").inner_text()
        assert not [n for n in province.identity_numbers if n in page.content()]
        assert not CLASS_LABELS.search(text)
        shot = tmp_path / "entity-card.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        page.goto(base + "/?q=91230103MA1BXXXX0Y")
        expect(page.get_by_role("alert")).to_contain_text("check")
        browser.close()


def test_file_an_objection_on_the_page_and_see_the_mark(app: FastAPI, province: Province) -> None:
    uscc = next(u for u, fact in published_penalties(province)
                if not any(f.under_objection for f in _penalties(province, u)))
    with LiveServer(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{base}/entity/{uscc}")
        penalties = page.get_by_role("region", name="行政处罚信息")
        expect(penalties.locator(".mark.objection")).to_have_count(0)
        penalties.get_by_role("link", name="对此信息提出异议").first.click()
        form = page.locator("#objection-form")
        form.get_by_label("异议理由").select_option("error")
        form.get_by_label("异议人").fill("张三")
        form.get_by_role("button", name="提交异议").click()  # the statement is required: the browser stops it
        expect(page).to_have_url(re.compile(r"/objection\?"))
        form.get_by_label("异议内容").fill("罚款金额与决定书记载不一致")
        form.get_by_label("联系方式（仅供处理机关使用，不予公开）").fill("13800000000")
        form.get_by_role("button", name="提交异议").click()
        expect(page.locator("#filed")).to_be_visible()
        ticket = page.locator("#ticket").inner_text()
        expect(page.locator("#status")).to_have_text("处理中")
        assert "13800000000" not in page.content()
        page.get_by_role("link", name=uscc).click()
        expect(page.get_by_role("region", name="行政处罚信息").locator(".mark.objection")).to_have_count(1)
        page.goto(f"{base}/entity/{uscc}")
        page.get_by_placeholder("受理编号").fill(ticket)
        page.get_by_role("button", name="查询处理进度").click()
        expect(page.locator("#ticket")).to_have_text(ticket)
        browser.close()


def _penalties(province: Province, uscc: str) -> list:
    with province.engine.connect() as conn:
        return [f for f in current_record(conn, uscc).facts if f.kind == "penalty"]

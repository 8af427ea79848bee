"""The public query page in a real headless Chromium (Debian's package, driven by Playwright):
search, open a card, no full identity number and no class on the page, a screenshot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect, sync_playwright

from tests.api.conftest import LiveServer, Province

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

"""The page against another site, in a real headless Chromium (issue 34, item 10): a form posted
from another origin files nothing, and no other page can frame ours."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import sync_playwright

from tests.api.conftest import LiveServer, Province, published_penalties
from tests.api.test_page import CHROMIUM

pytestmark = pytest.mark.xdist_group("api")


class OtherSite:
    """Static files of ``folder`` on another port of the loopback address: another origin."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def _cases(province: Province, uscc: str) -> int:
    with province.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT COUNT(*) FROM credit_case WHERE uscc = ?"
            if province.engine.dialect.name == "sqlite"
            else "SELECT COUNT(*) FROM credit_case WHERE uscc = %s",
            (uscc,),
        ).scalar()


def test_another_site_can_neither_post_our_form_nor_frame_our_page(
    app: FastAPI, province: Province, tmp_path: Path
) -> None:
    uscc, fact = next(iter(published_penalties(province)))
    before = _cases(province, uscc)
    with LiveServer(app) as base:
        (tmp_path / "post.html").write_text(
            f'<form id="f" method="post" action="{base}/objection">'
            f'<input name="uscc" value="{uscc}"><input name="ref" value="{fact.ref}">'
            '<input name="ground" value="error"><input name="statement" value="跨站提交">'
            '<input name="objector" value="某人"></form><script>document.getElementById("f").submit()</script>',
            encoding="utf-8",
        )
        (tmp_path / "frame.html").write_text(
            f'<iframe id="x" src="{base}/" width="600" height="400"></iframe>', encoding="utf-8"
        )
        with OtherSite(tmp_path) as other, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            with page.expect_response(f"{base}/objection") as posted:
                page.goto(f"{other}/post.html")
            assert posted.value.status == 403
            assert _cases(province, uscc) == before  # nothing was filed

            page.goto(f"{other}/frame.html")
            page.wait_for_timeout(500)
            framed = [f for f in page.frames if f != page.main_frame]
            assert framed and all("企业信用信息查询" not in f.content() for f in framed)

            page.goto(f"{base}/entity/{uscc}")  # on our own origin the same page shows, with its headers
            shown = page.request.get(f"{base}/entity/{uscc}")
            assert shown.headers["x-frame-options"] == "DENY" and "企业信用信息查询" in page.content()
            browser.close()

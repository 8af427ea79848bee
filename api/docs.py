"""The API documentation pages (Swagger UI at /docs, ReDoc at /redoc) served with their scripts
and styles from the app itself: an intranet without internet access still sees the docs, where
FastAPI's defaults load them from a CDN. The assets are those the ``fastapi-offline`` package
ships (Swagger UI 5, ReDoc 2)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC = "/static-docs"


def install(app: FastAPI) -> None:
    """Mount the assets (scripts and styles only: public). The pages themselves are routes of
    ``api.routers.ops``, behind the operations setting, and come from the two functions below."""
    app.mount(STATIC, StaticFiles(directory=ASSETS), name="static-docs")


def swagger_page(request: Request, openapi_url: str = "/openapi.json") -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{openapi_url}",
        title="credit-engine - Swagger UI",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{root}{STATIC}/favicon.png",
    )


def swagger_redirect_page() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def redoc_page(request: Request, openapi_url: str = "/openapi.json") -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{openapi_url}",
        title="credit-engine - ReDoc",
        redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{STATIC}/favicon.png",
        with_google_fonts=False,
    )

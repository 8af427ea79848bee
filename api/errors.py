"""Error answers in the form the caller reads: a page of the site for a person (404, 422, 429 in
the site's layout, in Chinese), JSON for a program (FastAPI's ``detail`` plus, where known, a
machine-readable ``code`` and a Chinese ``message``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.messages import PublicError, validation_message
from api.templating import templates  # every printed value masked, as on every public page
from credit_engine.identifiers import mask_ids_everywhere

#: Paths answered in JSON; every other path is the public page's.
API_PREFIXES = ("/v1/", "/openapi.json", "/metrics", "/healthz", "/readyz", "/docs", "/redoc", "/static-docs/")
TITLES = {404: "页面不存在", 405: "不支持的访问方式", 422: "请求有误", 429: "查询过于频繁"}
DEFAULT_MESSAGES = {
    404: "您访问的页面不存在，请从首页重新查询。",
    405: "请从页面上的表单提交。",
    422: "请求有误，请检查后重新提交。",
    429: "查询过于频繁，请稍后再试。",
}


def for_a_person(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def error_page(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": TITLES.get(status_code, "出错了"), "message": message, "status": status_code},
        status_code=status_code,
        headers=headers,
    )


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if for_a_person(request) and exc.status_code < 500:
        message = exc.message if isinstance(exc, PublicError) else DEFAULT_MESSAGES.get(exc.status_code, "请求有误。")
        return error_page(request, exc.status_code, message, getattr(exc, "headers", None))
    if isinstance(exc, PublicError):
        body = {"detail": exc.detail, "code": exc.code, "message": exc.message}  # may quote what was typed
        return JSONResponse(mask_ids_everywhere(body), status_code=exc.status_code, headers=exc.headers)
    return await http_exception_handler(request, exc)


async def on_invalid_request(request: Request, exc: RequestValidationError) -> Response:
    message = validation_message(list(exc.errors()))
    if for_a_person(request):
        return error_page(request, 422, message)
    # where and why, never the input itself: echoed once per missing field, a large body became a far
    # larger answer
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    body = {"detail": errors, "code": "invalid_request", "message": message}
    return JSONResponse(mask_ids_everywhere(jsonable_encoder(body)), status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]  # stub: handlers of Exception only
    app.add_exception_handler(RequestValidationError, on_invalid_request)  # type: ignore[arg-type]  # same

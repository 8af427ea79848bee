"""The FastAPI app factory: one router per audience under ``/v1``, the public page at ``/``,
operations endpoints, and a lifespan that loads the champion and the rule sets once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from prometheus_fastapi_instrumentator import Instrumentator

from api import docs, errors, guards, logs, metrics
from api.deps import audit_failure
from api.routers import (
    audit,
    cases,
    disclosure,
    entities,
    inspections,
    models,
    ops,
    page,
    persons,
    public,
    quarantine,
    rules,
    transfers,
)
from api.service import Service
from credit_engine.settings import Settings, get_settings

log = logging.getLogger("credit_engine.api")
DESCRIPTION = """
Credit-based tiered supervision (信用分级分类监管): entity credit records, risk classes A–D with
their reasons, linked persons, and the public credit query.

* **regulators** (`X-API-Key` of role `regulator`, optionally scoped to region codes): records,
  classes and reasons, as of any past date; every read is audited.
* **regulators** also decide credit repair applications and objections (`/v1/cases`), within
  working-day limits; the overdue list is `/v1/cases?overdue=true`; abnormal-list entries to warn
  or to move to the serious list are `/v1/transfers`.
* **analysts**: model versions, reports, promotion through the gate.
* **inspection systems** (role `inspection`): the sampling policy, plans and their weights, draws
  committed (frame hash, seed commitment) then revealed, verification, inspectors, results back.
* **auditors** (role `auditor`, read-only, every read audited): a draw's whole frame with every
  π, opening and nonce, and its full re-run (`/v1/audit`).
* **the public**: published information only, rate-limited; never a class, a score or an
  identity number; repair applications and objections filed and followed by ticket; 双随机、一公开 plans and draws: the commitment,
  the seed and the sample, each drawn entity checkable against the sealed frame committed before the draw.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = Service.start(settings)
        metrics.OVERDUE.engine = app.state.service.engine
        following = asyncio.create_task(app.state.service.follow_champion())
        yield
        following.cancel()
        app.state.service.stop()

    app = FastAPI(
        title="credit-engine",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # served by ops, to whom operations_access allows, with api.docs' offline assets
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        openapi_tags=[
            {"name": "regulators"},
            {"name": "public"},
            {"name": "analysts"},
            {"name": "inspection systems"},
            {"name": "auditors"},
            {"name": "operations"},
        ],
    )
    for module in (
        entities,
        persons,
        public,
        cases,
        transfers,
        models,
        ops,
        page,
        inspections,
        disclosure,
        rules,
        quarantine,
    ):
        app.include_router(module.router)
    app.include_router(cases.public)
    app.include_router(disclosure.pages)
    app.include_router(audit.router)
    app.add_middleware(
        guards.RequestGuard, max_body=settings.max_body_bytes, public_max_body=settings.public_max_body_bytes
    )
    app.add_middleware(guards.PageGuard)
    docs.install(app)
    errors.install(app)
    app.add_middleware(logs.AccessLog)
    guards.networks(settings.trusted_proxies)  # a wrong proxy setting stops the start, not the first request
    app.add_middleware(guards.ClientAddress, trusted_proxies=settings.trusted_proxies)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        try:
            await run_in_threadpool(audit_failure, request.app.state.service, request, exc)
        except Exception:  # the store itself may be what failed: the error is still answered and logged
            log.exception("the audit row of a failed request was not written")
        return PlainTextResponse("Internal Server Error", status_code=500)

    Instrumentator(excluded_handlers=["/metrics"]).instrument(app)
    return app

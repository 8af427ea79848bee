"""The FastAPI app factory: one router per audience under ``/v1``, the public page at ``/``,
operations endpoints, and a lifespan that loads the champion and the rule sets once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

from api import docs, errors, logs, metrics
from api.routers import cases, disclosure, entities, inspections, models, ops, page, persons, public, transfers
from api.service import Service
from credit_engine.settings import Settings, get_settings

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
* **the public**: published information only, rate-limited; never a class, a score or an
  identity number; repair applications and objections filed and followed by ticket; 双随机、一公开 plans and draws, verifiable from the blinded frame.
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

    app = FastAPI(title="credit-engine", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # served offline by api.docs
                  openapi_tags=[{"name": "regulators"}, {"name": "public"}, {"name": "analysts"},
                                {"name": "inspection systems"},
                                {"name": "operations"}])
    for module in (entities, persons, public, cases, transfers, models, ops, page, inspections, disclosure):
        app.include_router(module.router)
    app.include_router(cases.public)
    app.include_router(disclosure.pages)
    docs.install(app)
    errors.install(app)
    app.add_middleware(logs.AccessLog)
    Instrumentator(excluded_handlers=["/metrics"]).instrument(app)
    return app

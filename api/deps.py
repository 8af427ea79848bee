"""Every typed dependency of the routers, in one place: the service, a connection, the caller
and its role, the public rate limit, the audit of regulator reads, a validated USCC."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, HTTPException, Path, Request, Security, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from sqlalchemy import Connection, Engine, RootTransaction, bindparam, select

from api.guards import is_loopback
from api.messages import invalid_uscc, rate_limited
from api.service import Service
from credit_engine.identifiers import CodeKind, classify_code, mask_ids_in_text
from credit_engine.keys import Principal, Role, principal_for
from credit_engine.store.models import Entity
from credit_engine.store.repository import Store, now_utc, stamp

T = TypeVar("T")
_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an API key from `credit-engine keys create`"
)


# Dependencies that do no I/O are ``async``: FastAPI runs a sync one in the thread pool, a hop
# that costs more than the function itself on every request.


async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_conn(service: ServiceDep) -> AsyncIterator[Connection]:
    """A pooled connection once one of the service's database slots is free. The wait is on the
    event loop and holds no worker thread: waiting for the pool inside a worker thread, while
    the requests holding every connection waited for a thread, froze the service under 128
    concurrent lookups until the pool timed out. Taking and returning the connection on the loop
    instead (SQLite) raised the lookup's p99 from 145-214 ms to 241-340 ms under 32 connections:
    the hops stay."""
    async with service.db_slots:
        conn = await run_in_threadpool(service.engine.connect)
        try:
            yield conn
        finally:
            await run_in_threadpool(conn.close)


ConnDep = Annotated[Connection, Depends(get_conn)]


def _connected(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return work(conn)


async def with_store(service: Service, work: Callable[[Connection], T]) -> T:
    """A request's whole use of the store in one worker-thread hop (connect, ``work``, close) once
    a database slot is free. The hot routes use it instead of ``ConnDep`` and the dependencies
    that take a connection, which cost two or three hops: each hop costs about what a trivial
    request does."""
    async with service.db_slots:
        return await run_in_threadpool(_connected, service.engine, work)


def client_address(request: Request) -> str:
    """The caller's address (``guards.ClientAddress`` has applied X-Forwarded-For of trusted proxies)."""
    return request.client.host if request.client else "unknown"


ApiKey = Annotated[str | None, Security(_key_header)]


def known_principal(service: Service, conn: Connection, key: str | None) -> Principal:
    """The key's holder, from the service's key cache or else the store; 401 for none."""
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this endpoint needs an API key in the X-API-Key header",
            headers={"WWW-Authenticate": "APIKey"},
        )
    found = service.keys.get(key)
    if found is None:
        found = principal_for(conn, key)
        if found is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key", headers={"WWW-Authenticate": "APIKey"}
            )
        service.keys.put(key, found)
    return found


def admitted(principal: Principal, role: Role) -> Principal:
    """``principal`` when it holds ``role`` or ``admin``; 403 otherwise."""
    if principal.role not in (role, Role.ADMIN):
        article = "an" if str(principal.role)[0] in "aeiou" else "a"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{article} {principal.role} key may not use this endpoint (needs the {role} role)",
        )
    return principal


async def get_principal(service: ServiceDep, conn: ConnDep, key: ApiKey) -> Principal:
    """A cached key costs no worker-thread hop; another is read on the request's connection
    (a request holds one pooled connection at a time, so a busy pool cannot deadlock)."""
    found = service.keys.get(key) if key else None
    # cast: mypy infers the awaited Principal in the context of ``found``'s Principal | None
    return cast(Principal, found or await run_in_threadpool(known_principal, service, conn, key))


async def get_caller(service: ServiceDep, key: ApiKey) -> Principal:
    """The key's holder for the routes that use ``with_store`` and hold no ``ConnDep``: a cached
    key costs no hop, another reads the key table in a slot of its own, released before the
    route takes its slot (so, again, no request holds two)."""
    found = service.keys.get(key) if key else None
    return cast(Principal, found or await with_store(service, lambda conn: known_principal(service, conn, key)))


def require(role: Role, caller: bool = False):
    """A dependency admitting ``role`` and ``admin``; every other key gets 403. With ``caller``
    it holds no connection (``get_caller``): only for routes without ``ConnDep``."""

    holder = Depends(get_caller if caller else get_principal)  # a default: the annotations are strings here

    async def check(request: Request, principal: Principal = holder) -> Principal:
        request.state.principal = admitted(principal, role)  # a read ending in a server error is audited by it
        return principal

    return check


RegulatorDep = Annotated[Principal, Depends(require(Role.REGULATOR))]
#: ``RegulatorDep`` for the routes that read through ``with_store``.
RegulatorCaller = Annotated[Principal, Depends(require(Role.REGULATOR, caller=True))]
AnalystDep = Annotated[Principal, Depends(require(Role.ANALYST))]
InspectionDep = Annotated[Principal, Depends(require(Role.INSPECTION))]
AuditorDep = Annotated[Principal, Depends(require(Role.AUDITOR))]


async def public_client(request: Request, service: ServiceDep) -> str:
    """Rate limit of anonymous access, per client address: 429 with Retry-After when exceeded.
    The limiter is asynchronous (limits.aio): counting waits on no worker thread (its memory
    storage still hands its clean-up of expired counters to one about every second hit)."""
    client = client_address(request)
    if not await service.limiter.hit(service.public_limit, "public", client):
        reset = (await service.limiter.get_window_stats(service.public_limit, "public", client)).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise rate_limited(str(service.public_limit), wait)
    return client


PublicDep = Annotated[str, Depends(public_client)]


async def operations_reader(request: Request, service: ServiceDep, key: ApiKey) -> None:
    """Who may read the metrics and the API's documentation (``operations_access``): by default a
    key with the admin role, or a caller on the loopback address (a scraper beside the service)."""
    access = service.settings.operations_access
    if access == "open" or (access == "admin-or-loopback" and is_loopback(client_address(request))):
        return
    found = await get_caller(service, key)
    if found.role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics and documentation are for keys with the admin role")


OperationsDep = Depends(operations_reader)


def write_transaction(conn: Connection) -> RootTransaction:
    """A write transaction on the request's connection, after ending the snapshot of its reads."""
    if conn.in_transaction():
        conn.commit()
    return conn.begin()


def audit_read(
    service: Service, conn: Connection | None, actor: str, action: str, target: str, detail: dict, client: str | None
) -> None:
    """One audit row of a read, written before the data leaves: to the read audit's own database
    when there is one (``GroupWriter``), else on the request's connection (a request holds one
    pooled connection at a time, so a busy pool cannot deadlock)."""
    if service.read_audit is not None:
        service.read_audit.append(
            (stamp(now_utc()), actor, action, target, json.dumps(detail, ensure_ascii=False, default=str), client)
        )
        return
    if conn is None:
        with service.engine.begin() as own:
            Store(own).audit(now_utc(), actor, action, target, detail, client=client)
        return
    with write_transaction(conn):
        Store(conn).audit(now_utc(), actor, action, target, detail, client=client)


class Audit:
    """Writes one audit row per regulator read before the data leaves (``audit_read``)."""

    def __init__(self, service: Service, conn: Connection, principal: Principal, client: str, path: str) -> None:
        self.service, self.conn, self.principal, self.client, self.path = service, conn, principal, client, path

    def __call__(self, action: str, target: str, **detail: object) -> None:
        audit_read(
            self.service,
            self.conn,
            self.principal.actor,
            action,
            target,
            {"path": self.path, "role": str(self.principal.role), **detail},
            self.client,
        )


async def get_audit(request: Request, service: ServiceDep, conn: ConnDep, principal: RegulatorDep) -> Audit:
    return Audit(service, conn, principal, client_address(request), request.url.path)


AuditDep = Annotated[Audit, Depends(get_audit)]


def audit_failure(service: Service, request: Request, error: BaseException) -> None:
    """The audit row of a keyed request that ended in a server error: what was asked is on record
    even when the answer never came (on a connection of its own: the request's may be broken)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return
    audit_read(
        service,
        None,
        principal.actor,
        "read_failed",
        mask_ids_in_text(request.url.path)[:200],
        {
            "path": mask_ids_in_text(request.url.path),
            "role": str(principal.role),
            "method": request.method,
            "error": type(error).__name__,
        },
        client_address(request),
    )


UsccPath = Annotated[
    str, Path(description="unified social credit code (18 characters)", examples=["91230103MA1BXXXX0Y"])
]


#: Built once: every entity request runs them.
_KNOWN = select(Entity.uscc).where(Entity.uscc == bindparam("uscc"), Entity.registered)
_REGION = select(Entity.region_code).where(Entity.uscc == bindparam("uscc"))


def checked_uscc(conn: Connection, raw: str) -> str:
    """The normalised code, or 422 naming the check that failed. A code failing only the check
    digit is accepted when registration data holds it (legal pilot codes are registered under
    their code, RULES.md §6); the answer then carries ``identifiers.check_note``."""
    check = classify_code(raw)
    if check.kind is CodeKind.USCC:
        return check.value
    if check.kind is CodeKind.USCC_CHECK_FAILED and conn.execute(_KNOWN, {"uscc": check.value}).first():
        return check.value
    raise invalid_uscc(raw, check)


def audited_uscc(conn: Connection, raw: str, audit: Audit) -> str:
    """``checked_uscc`` for a regulator: a refused code is audited too (with identity numbers masked)."""
    try:
        return checked_uscc(conn, raw)
    except HTTPException:
        audit("read_invalid", mask_ids_in_text(raw)[:64])
        raise


def scoped_entity(conn: Connection, uscc: str, principal: Principal, audit: Audit) -> str:
    """The validated code of an entity the regulator may see: 422 invalid, 404 unknown, 403 outside
    its regions (all audited too)."""
    code = audited_uscc(conn, uscc, audit)
    region = conn.execute(_REGION, {"uscc": code}).scalar()
    if region is None:
        audit("read_missing", code)  # asking whether a code is known is itself a read
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no entity {code}")
    if not principal.covers(region):
        audit("read_denied", code, region=region)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"entity {code} is in region {region}, outside this key's scope {','.join(principal.scopes)}",
        )
    return code

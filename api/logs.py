"""The access log: one JSON line per request (``credit_engine.logs``), with its method, path, status and time."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credit_engine.identifiers import mask_id, mask_ids_in_text
from credit_engine.logs import JsonFormatter

#: A USCC-shaped code in a path, in any case: masked as an identity number is, so that a code of
#: digits only (which ``mask_ids_in_text`` takes for an ID) and one with letters look alike.
_USCC_IN_PATH = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{2}[0-9]{6}"
    r"[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{10}(?![0-9A-Za-z])"
)


def mask_path(path: str) -> str:
    """A request path for the log: every USCC masked the same way, and any identity number."""
    return mask_ids_in_text(_USCC_IN_PATH.sub(lambda m: mask_id(m.group(0).upper()), path))


log = logging.getLogger("credit_engine.api.access")
__all__ = ["AccessLog", "JsonFormatter"]


class AccessLog:
    """Log every request (never the query string: it may carry a name someone searched for; an
    identity number typed into a path is masked), with the route it matched.

    A pure ASGI middleware: ``BaseHTTPMiddleware`` would run every response through an extra
    task and memory stream, a fixed cost on each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client, route = scope.get("client"), scope.get("route")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": mask_path(scope["path"]),
                    "route": getattr(route, "path", None),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                },
            )

"""Structured logs: one JSON object per line, with the request's method, path, status and time.

The standard library's logging with a small JSON formatter, rather than structlog: one line of
JSON per record is all the log shippers need, and it keeps uvicorn's own loggers unchanged."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from fastapi import Request, Response
from starlette.middleware.base import RequestResponseEndpoint

log = logging.getLogger("credit_engine.api.access")
_FIELDS = ("method", "path", "status", "ms", "client")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry |= {k: getattr(record, k) for k in _FIELDS if hasattr(record, k)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("credit_engine")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


async def access_log(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Log every request (never the query string: it may carry a name someone searched for)."""
    started = time.perf_counter()
    response = await call_next(request)
    log.info("request", extra={"method": request.method, "path": request.url.path, "status": response.status_code,
                               "ms": round((time.perf_counter() - started) * 1000, 2),
                               "client": request.client.host if request.client else None})
    return response

"""Structured logs: one JSON object per line, with the request's method, path, status and time.

The standard library's logging with a small JSON formatter, rather than structlog: one line of
JSON per record is all the log shippers need, and it keeps uvicorn's own loggers unchanged."""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from credit_engine.identifiers import mask_id, mask_ids_in_text

#: A USCC-shaped code in a path, in any case: masked as an identity number is, so that a code of
#: digits only (which ``mask_ids_in_text`` takes for an ID) and one with letters look alike.
_USCC_IN_PATH = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{2}[0-9]{6}"
                           r"[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{10}(?![0-9A-Za-z])")


def mask_path(path: str) -> str:
    """A request path for the log: every USCC masked the same way, and any identity number."""
    return mask_ids_in_text(_USCC_IN_PATH.sub(lambda m: mask_id(m.group(0).upper()), path))

log = logging.getLogger("credit_engine.api.access")
_FIELDS = ("method", "path", "route", "status", "ms", "client")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "pid": record.process,
                 "message": record.getMessage()}
        entry |= {k: getattr(record, k) for k in _FIELDS if hasattr(record, k)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict:
    """uvicorn's own logging configuration plus a JSON handler for ``credit_engine``. uvicorn
    applies it in each worker process: a worker is a fresh interpreter, so configuring the
    parent's loggers left every worker of ``serve --workers N`` without access logs."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json"] = {"()": "api.logs.JsonFormatter"}
    config["handlers"]["json"] = {"class": "logging.StreamHandler", "formatter": "json"}
    config["loggers"]["credit_engine"] = {"handlers": ["json"], "level": level, "propagate": False}
    return config


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
            log.info("request", extra={"method": scope["method"], "path": mask_path(scope["path"]),
                                       "route": getattr(route, "path", None), "status": status,
                                       "ms": round((time.perf_counter() - started) * 1000, 2),
                                       "client": client[0] if client else None})

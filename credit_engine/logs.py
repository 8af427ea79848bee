"""JSON log lines: one object per record, for the service's access log and any command.

The standard library's logging with a small JSON formatter, rather than structlog: one line of
JSON per record is all the log shippers need, and it keeps uvicorn's own loggers unchanged. It
lives in the core so that the CLI can configure the server's logging without importing the API."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

_FIELDS = ("method", "path", "route", "status", "ms", "client")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry |= {k: getattr(record, k) for k in _FIELDS if hasattr(record, k)}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str = "INFO", file: Path | None = None) -> dict:
    """uvicorn's own logging configuration plus a JSON handler for ``credit_engine``. uvicorn
    applies it in each worker process: a worker is a fresh interpreter, so configuring the
    parent's loggers left every worker of ``serve --workers N`` without access logs. With ``file``
    the JSON lines go there (the demo keeps its terminal for what it prints)."""
    from uvicorn.config import LOGGING_CONFIG  # the server's defaults, kept

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json"] = {"()": "credit_engine.logs.JsonFormatter"}
    config["handlers"]["json"] = (
        {"class": "logging.FileHandler", "formatter": "json", "filename": str(file)}
        if file
        else {"class": "logging.StreamHandler", "formatter": "json"}
    )
    config["loggers"]["credit_engine"] = {"handlers": ["json"], "level": level, "propagate": False}
    return config

"""How every process logs: one line per event, to stderr, as JSON (production) or readable
text (the demo and development), ``PORTAL_LOG_FORMAT``.

Each line carries the time, level, logger and message, the context of what the process was
doing (``request_id`` of the HTTP request, or ``job_id``, ``job_kind`` and the ``request_id``
of the request that queued the job) and any fields a call passes as ``extra={...}``.
The context lives in context variables, so it follows a request or a job through every
``await`` without being passed along.

httpx and httpcore log every request they send at INFO; they are quiet below WARNING.
uvicorn's access log is off: the portal writes one line per request itself
(``portal.telemetry``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_KEY = "request_id"
"""The key of a job's payload that carries the id of the request that queued it."""

_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
_QUIET = ("httpx", "httpcore", "aiosqlite", "asyncio", "multipart", "alembic")

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "portal_log_context", default=None
)

# Attributes every LogRecord has: anything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    | {"message", "asctime", "taskName", "color_message"}  # uvicorn's message with ANSI colours
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    """An incoming id as given when it has a safe shape (no spaces, quotes or line breaks)."""
    if value and _REQUEST_ID_SHAPE.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    value = (_context.get() or {}).get(REQUEST_ID_KEY)
    return str(value) if value is not None else None


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block (and in tasks it starts)."""
    merged = {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def install_context() -> None:
    """Give every log record the context fields as it is made, so every handler sees them
    (``extra`` given to a call is applied after and wins). Idempotent."""
    make = logging.getLogRecordFactory()
    if getattr(make, "_portal_context", False):
        return

    def record_with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.__dict__.update(_context.get() or {})
        return record

    record_with_context._portal_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_context)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k[0] != "_"}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extra fields, and
    the traceback as one string in ``exc_info``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``, the traceback on the lines below."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={_text_value(v)}" for k, v in _fields(record).items())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line}  {fields}" if fields else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text_value(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\n') else text


def resolved_format(log_format: str, *, production: bool) -> str:
    """``json`` or ``text``; empty means json in production, text elsewhere."""
    chosen = log_format.strip().lower()
    if chosen in ("json", "text"):
        return chosen
    return "json" if production else "text"


def logging_config(level: str, log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends everything to stderr in one format (also
    given to uvicorn, which applies it in each web process it starts)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    quiet = {name: {"level": "WARNING"} for name in _QUIET}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"portal": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "portal",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            **quiet,
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure(level: str, log_format: str) -> None:
    install_context()
    logging.config.dictConfig(logging_config(level, log_format))

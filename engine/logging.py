"""Log lines as JSON (or text), each carrying the id of the request it belongs to.

    configure_logging(settings)   one handler on the root logger (idempotent); uvicorn's loggers
                                  are sent through it too, so a process writes one format
    RequestContext, request_context   what the API knows about the current request: its id and,
                                  once the bearer token is checked, the person

JSON lines have `time`, `level`, `logger`, `message`, then `request_id` and `person_id` when
the line was written while serving a request, then any `extra=` fields of the call.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from engine.settings import Settings


@dataclass
class RequestContext:
    request_id: str
    person_id: int | None = None


request_context: ContextVar[RequestContext | None] = ContextVar("accord_request", default=None)


class _RequestFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = request_context.get()
        if current is not None:
            record.request_id = current.request_id
            if current.person_id is not None:
                record.person_id = current.person_id
        return True


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours (configuring twice replaces it), writing to whatever `sys.stderr` is at the time."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "text":
        return _TextFormatter()
    return JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def resolved_format(settings: Settings, stream: Any = None) -> str:
    if settings.log_format is not None:
        return settings.log_format
    stream = stream or sys.stderr
    return "text" if getattr(stream, "isatty", lambda: False)() else "json"


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.setFormatter(formatter(resolved_format(settings)))
    handler.addFilter(_RequestFields())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # `transitions` narrates every callback at INFO, httpx every webhook POST: noise next to the
    # access line and the delivery rows. Their warnings and errors still come through.
    for chatty in ("transitions", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # The API writes its own access line (route template, request id, person); uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True

"""The one map from engine errors (and request validation) to RFC 9457 problem+json."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import (
    AccordError,
    Conflict,
    GuardFailed,
    InvalidInput,
    NotFound,
    NotPermitted,
    PreconditionFailed,
    TransitionNotAllowed,
)

PROBLEM = "application/problem+json"

log = logging.getLogger("accord.api")

_STATUS: list[tuple[type[AccordError], int, str]] = [
    (NotFound, 404, "Not found"),
    (NotPermitted, 403, "Not permitted"),
    (TransitionNotAllowed, 409, "Event not allowed in this state"),
    (Conflict, 409, "Conflict"),
    (PreconditionFailed, 412, "Precondition failed"),
    (GuardFailed, 422, "Conditions not met"),
    (InvalidInput, 422, "Invalid input"),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _accord_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AccordError)
    status, title = next((s, t) for cls, s, t in _STATUS if isinstance(error, cls))
    extra: dict[str, Any] = {}
    if isinstance(error, GuardFailed):
        extra["unmet"] = error.unmet
    elif isinstance(error, TransitionNotAllowed):
        extra.update(state=error.state, allowed_events=error.allowed)
    elif isinstance(error, InvalidInput) and error.field:
        extra["errors"] = [{"field": error.field, "message": error.detail}]
    return problem(status, title, error.detail, **extra)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    for item in error.errors():
        if item.get("type") == "json_invalid":
            reason = item.get("ctx", {}).get("error", "parse error")
            return problem(400, "Bad request", f"The body is not valid JSON ({reason}). Send a JSON object.",
                           errors=[{"field": "body", "message": f"not valid JSON: {reason}"}])
    errors = []
    for item in error.errors():
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field; remove it or check its spelling"
        errors.append({"field": _field(tuple(item.get("loc", ()))), "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid input", f"Fix these fields and send again: {detail}.", errors=errors)


def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = str(error.detail) if error.detail else "Request failed."
    if error.status_code == 404 and detail == "Not Found":
        detail = f"There is no resource at {request.url.path}. See /docs for the API."
    elif error.status_code == 405:
        detail = f"{request.method} is not supported on {request.url.path}. See /docs for the API."
    return problem(error.status_code, _reason(error.status_code), detail)


def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, OperationalError) and "locked" in str(error).lower():
        return problem(409, "Conflict", "The database was busy with another change; try again.")
    return problem(503, "Service unavailable",
                   "The database is not reachable right now; nothing was changed. Try again shortly.")


def _unexpected(request: Request, error: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=error)
    return problem(500, "Internal server error",
                   f"Something went wrong on our side and nothing was changed. Quote reference {reference} "
                   "to the administrator.", reference=reference)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(AccordError, _accord_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)

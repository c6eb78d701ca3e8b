"""Engine errors (and request validation, and database errors) as RFC 9457 problem+json.

An engine error's status, title and problem `type` are attributes of its class
(`engine.errors`); this module renders them and adds each error's own members (`unmet`,
`state` and `allowed_events`, `errors`). Answers that are not about the engine's errors
(415, 400, a route that does not exist, 405, 401, 503, 500) have `type` `about:blank`: their
HTTP status says all there is.

Every `detail` (and each field's `message`) is a sentence of the catalogs, in the language the request
asked for with Accept-Language (api/languages.py), English without it; `type`, `title`, `status` and
field names are the same in every language. pydantic's own refusals are said by
`engine.validation_words.describe`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.deps import parse_if_match
from api.observability import loggable_path
from engine import i18n
from engine.errors import (
    AccordError,
    Conflict,
    GuardFailed,
    InvalidInput,
    PreconditionFailed,
    StaleVersion,
    TransitionNotAllowed,
)
from engine.validation_words import describe

PROBLEM = "application/problem+json"

log = logging.getLogger("accord.api")

ABOUT_BLANK = "about:blank"


def problem(status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None,
            problem_type: str = ABOUT_BLANK, **extra: Any) -> JSONResponse:
    body = {"type": problem_type, "title": title, "status": status, "detail": detail, **extra}
    # nosniff here too: a 500 is answered by Starlette's outermost middleware, past api.guards.
    sent = {"X-Content-Type-Options": "nosniff", **(headers or {})}
    if status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=sent)


def problem_of(kind: type[AccordError], detail: str, **extra: Any) -> JSONResponse:
    """An answer of the kind of engine error `kind`: its status, title and type."""
    return problem(kind.status, kind.title, detail, problem_type=kind.type, **extra)


def _accord_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AccordError)
    if isinstance(error, StaleVersion):
        lost = _lost_precondition(request, error)
        if lost is not None:
            return lost
    extra: dict[str, Any] = {}
    if isinstance(error, GuardFailed):
        extra["unmet"] = error.unmet
    elif isinstance(error, TransitionNotAllowed):
        extra.update(state=error.state, allowed_events=error.allowed)
    elif isinstance(error, InvalidInput) and error.field:
        extra["errors"] = [{"field": error.field, "message": error.detail}]
    return problem_of(type(error), error.detail, **extra)


def _lost_precondition(request: Request, error: StaleVersion) -> JSONResponse | None:
    """A write whose If-Match named the version it was checked at, overtaken by another write
    before its compare-and-set: its precondition is false now, so 412 like any stale If-Match
    (RFC 9110 §13.1.1: the condition holds when the change is made, not only when it is read).
    Without If-Match, or with `*` (any version: still true), it stays 409."""
    condition = parse_if_match(request.headers.get("if-match"))
    if condition is None or condition.versions is None:
        return None
    return problem_of(PreconditionFailed, i18n.gettext(
        "If-Match %(given)s no longer matches: another change to the agreement was made while this request was "
        "being handled (it is no longer at version %(version)s), so nothing was changed. Reload the agreement "
        "(its ETag is the new version) and decide again.") % {"given": condition.given[:40],
                                                             "version": error.expected})


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    if isinstance(error.body, bytes) and error.body:
        # FastAPI reads a body as JSON only when its Content-Type says JSON; these are raw bytes.
        sent = request.headers.get("content-type")
        detail = (i18n.gettext("This endpoint takes a JSON body, and it was sent as %(sent)s. Send the body as JSON "
                               "with the header 'Content-Type: application/json'.") % {"sent": repr(sent)} if sent
                  else i18n.gettext("This endpoint takes a JSON body, and it was sent without a Content-Type. Send "
                                    "the body as JSON with the header 'Content-Type: application/json'."))
        return problem(415, "Unsupported media type", detail)
    for item in error.errors():
        if item.get("type") == "json_invalid":
            reason = item.get("ctx", {}).get("error", "parse error")  # the JSON parser's words, in English
            return problem(400, "Bad request",
                           i18n.gettext("The body is not valid JSON (%(reason)s). Send a JSON object.")
                           % {"reason": reason},
                           errors=[{"field": "body", "message": i18n.gettext("not valid JSON: %(reason)s")
                                    % {"reason": reason}}])
    errors = [{"field": _field(tuple(item.get("loc", ()))), "message": describe(item)} for item in error.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_of(InvalidInput, i18n.gettext("Fix these fields and send again: %(fields)s.") % {"fields": detail},
                      errors=errors)


def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = str(error.detail) if error.detail else i18n.gettext("Request failed.")
    if error.status_code == 404 and detail == "Not Found":
        detail = i18n.gettext("There is no resource at %(path)s. See /docs for the API.") % {"path": request.url.path}
    elif error.status_code == 405:
        detail = i18n.gettext("%(method)s is not supported on %(path)s. See /docs for the API.") % {
            "method": request.method, "path": request.url.path}
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request)) or headers.get("Allow", "")
    return problem(error.status_code, _reason(error.status_code), detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path. Starlette's own 405 names only the first
    route's methods (GET /agreements and POST /agreements are two routes), so each method is
    tried against every route."""
    routes = request.app.router.routes
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _database_error(request: Request, error: Exception) -> JSONResponse:
    """Database errors the engine did not turn into domain errors; the transaction was rolled back."""
    assert isinstance(error, DBAPIError)
    if isinstance(error, OperationalError) and "locked" in str(error).lower():
        return problem_of(Conflict, i18n.gettext(
            "The database was busy with another change; nothing was changed. Try again."))
    if isinstance(error, IntegrityError) or _sqlstate(error).startswith("23"):
        return problem_of(Conflict, i18n.gettext(
            "This change collides with data that already exists (a duplicate, or a reference to something removed "
            "meanwhile); nothing was changed. Reload and try again."))
    # asyncpg's errors reach us as plain DBAPIError: go by SQLSTATE (class 22: data exception, 23: integrity).
    if isinstance(error, DataError) or _sqlstate(error).startswith("22"):
        return problem_of(InvalidInput, i18n.gettext(
            "A value is out of the range the database can store; nothing was changed. Check numbers and text "
            "lengths."))
    if _sqlstate(error) in ("40001", "40P01"):  # serialization failure, deadlock: the change was undone
        return problem_of(Conflict, i18n.gettext(
            "Another change to the same data ran at the same moment; nothing was changed. Try again."))
    if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated or _unreachable(error):
        return _unavailable()
    return _unexpected(request, error)


def _unavailable() -> JSONResponse:
    return problem(503, "Service unavailable", i18n.gettext(
        "The database is not reachable right now; nothing was changed. Try again shortly."))


def _unreachable(error: DBAPIError) -> bool:
    """PostgreSQL refused the connection or ended it: shutting down, starting up, or restarted
    (SQLSTATE class 08, or 57P01-57P03). asyncpg's CannotConnectNowError, raised while the server
    shuts down or starts up, reaches us as a plain DBAPIError."""
    sqlstate = _sqlstate(error)
    return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def _sqlstate(error: DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or "")


def _connection_error(request: Request, error: Exception) -> JSONResponse:
    # A refused or reset connection can reach us unwrapped when the database goes away.
    if isinstance(error, ConnectionError | TimeoutError):
        return _unavailable()
    return _unexpected(request, error)


def _unexpected(request: Request, error: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s on %s %s", reference, request.method, loggable_path(request.scope),
                  exc_info=error)
    return problem(500, "Internal server error", i18n.gettext(
        "Something went wrong on our side and nothing was changed. Quote reference %(reference)s to the "
        "administrator.") % {"reference": reference}, reference=reference)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FieldError(BaseModel):
    field: str
    message: str


def _problem_types() -> list[str]:
    """Every problem type an engine error answers with, for the OpenAPI (one per error class)."""
    kinds: list[type[AccordError]] = []
    waiting = list(AccordError.__subclasses__())
    while waiting:
        kind = waiting.pop(0)
        kinds.append(kind)
        waiting += kind.__subclasses__()
    return [ABOUT_BLANK] + sorted({kind.type for kind in kinds})


class ProblemDetail(BaseModel):
    """RFC 9457 problem details: the body of every error this API sends, as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default=ABOUT_BLANK, examples=_problem_types(),
        description="What kind of problem this is: a stable URI to switch on (an identifier, not a page to "
                    "fetch). Each kind of engine error has its own, `https://accord.example/problems/<slug>` "
                    "(the examples list them); `about:blank` when the HTTP status says all there is (400, 401, "
                    "405, 413, 415, 503, 500, a path that does not exist).")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    unmet: list[str] | None = None
    state: str | None = None
    allowed_events: list[str] | None = None
    reference: str | None = None


def _document_problems(app: FastAPI) -> None:
    """Declare in the OpenAPI what is sent: every error response is a ProblemDetail as problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _problems_in(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problems_in(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["ProblemDetail"] = problem_schema
    problem_ref = {"$ref": "#/components/schemas/ProblemDetail"}
    validation_ref = "#/components/schemas/HTTPValidationError"
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code[0] not in "45":
                    continue
                declared = (response.get("content") or {}).get("application/json", {}).get("schema") or {}
                own = declared.get("$ref") not in (None, validation_ref)
                response["content"] = {PROBLEM: {"schema": declared if own else problem_ref}}
            responses.setdefault("default", {
                "description": "An error: `detail` says what to fix (RFC 9457 problem details).",
                "content": {PROBLEM: {"schema": problem_ref}}})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def install(app: FastAPI) -> None:
    _document_problems(app)
    app.add_exception_handler(AccordError, _accord_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _connection_error)
    app.add_exception_handler(Exception, _unexpected)

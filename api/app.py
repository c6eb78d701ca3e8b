"""`create_app()`: the HTTP API (and, unless turned off, the scheduler inside it)."""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp

from api import links, observability, problems
from api.guards import NoSniff, RefuseControlCharacters
from api.languages import AnswerInTheirLanguage
from api.limits import BodyLimit
from api.routers import (
    agreements,
    directory,
    documents,
    feeds,
    health,
    metrics,
    reminders,
    reports,
    tokens,
    webhooks,
    workflows,
)
from api.routers import amendments as amendment_routes
from api.routers import diagrams as workflow_diagrams
from api.web import link_mail
from api.web import router as web_pages
from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.settings import Settings, get_settings
from engine.workflow.machine import catalog
from notifications.worker import Scheduler

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's scripts, style sheet and icon, from fastapi-offline
# Where documents are uploaded, through the API and the pages: their bodies may be larger.
UPLOADS = re.compile(r"^(/api/v1)?/agreements/\d+/documents$")

DESCRIPTION = """
Accord keeps collaboration agreements between organisations as state machines, with their
parties, focal points, signatories, areas of collaboration and deliverables.

Authenticate with `Authorization: Bearer <token>`. Errors are `application/problem+json`
with a `detail` that says what to fix. `GET` on an agreement returns an `ETag`; send it back
as `If-Match` on writes to be sure nobody changed the agreement in between.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_database = database is None
    database = database or Database.from_settings(settings)
    catalog()  # load, validate and build every workflow machine before the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The embedded default: the scheduler runs inside the API process unless turned off.
        # Everything made so far (modules, the workflow machines, SQLAlchemy's and pydantic's
        # caches) lives as long as the process: out of the collector's sight, a full collection
        # walks only what requests create. Before this, those pauses were most of PostgreSQL's
        # p99 at 8 clients (140 ms -> 52 ms, docs/BENCHMARKS.md).
        gc.collect()
        gc.freeze()
        scheduler = None
        if settings.scheduler_enabled:
            scheduler = Scheduler(settings, database=database, clock=app.state.clock)
            await scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await link_mail.settle()  # sign-in links asked for just before the stop still go out
            if owns_database:
                await database.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from Accord itself (DOCS_ASSETS), not from a CDN:
    # the API documentation works on a machine with no internet.
    app = FastAPIOffline(title="Accord", version="1.0", description=DESCRIPTION, lifespan=lifespan,
                         static_url=DOCS_ASSETS)
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    problems.install(app)
    links.install(app)  # what a created resource's id leads to, in the OpenAPI document
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes, uploads=UPLOADS,
                       max_document_bytes=settings.document_max_bytes)
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(AnswerInTheirLanguage, prefix=API_PREFIX)  # `detail` in Accept-Language's language
    observability.install(app, settings)  # ids, access log and metrics for every answer
    _around_everything(app, NoSniff)  # outermost: every answer, a 500 included
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in (directory.router, agreements.router, amendment_routes.router, documents.router,
                   workflows.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    app.include_router(reminders.router, prefix=API_PREFIX)
    app.include_router(feeds.router)  # its paths carry /api/v1, and /feeds/{token}.ics has none
    app.include_router(reports.router, prefix=API_PREFIX)
    app.include_router(tokens.router, prefix=API_PREFIX)
    app.include_router(workflow_diagrams.router, prefix=API_PREFIX)
    app.include_router(web_pages)  # the web pages at "/" (api/web)
    return app


def _around_everything(app: FastAPI, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Wrap the app's whole middleware stack, Starlette's error middleware included, which
    `add_middleware` cannot reach."""
    build_stack = app.build_middleware_stack

    def build() -> ASGIApp:
        return middleware(build_stack())

    app.build_middleware_stack = build  # type: ignore[method-assign]

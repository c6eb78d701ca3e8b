"""The overview's figures as JSON, and CSV exports with the agreement list's filters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import AgreementFiltersDep, CurrentActor, SessionDep, SettingsDep, WhenDep, get_database
from engine import i18n, reports
from engine.context import Actor
from engine.db import Database
from engine.settings import Settings
from engine.statuses import Language

router = APIRouter(tags=["reports"])

DatabaseDep = Annotated[Database, Depends(get_database)]
LangQuery = Annotated[Language | None, Query(
    description="the header row's language (en, fr, es); unset, the caller's (their own, else their "
                "organisation's, else the server's default). The values stay the same in every language.")]


def _header_language(lang: Language | None, actor: Actor, settings: Settings) -> Language:
    return lang or i18n.language_of(actor.language, None, settings.default_language)


@router.get("/reports/summary", response_model=reports.Summary)
async def summary(session: SessionDep, actor: CurrentActor, when: WhenDep,
                  days: Annotated[int, Query(ge=1, le=365, description="how far ahead to look")] = 90,
                  ) -> reports.Summary:
    """Counts by state, what falls due in the next `days` days, overdue deliverables by partner and area."""
    return await reports.summary(session, actor, when.today, days)


def _csv(database: Database, name: str,
         rows: Callable[[AsyncSession], AsyncIterator[str]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        # Its own read transaction: the request's session is closed before the body streams.
        yield "\ufeff".encode()  # a BOM, so spreadsheet programs read the file as UTF-8
        async with database.transaction(write=False) as session:
            async for line in rows(session):
                yield line.encode()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/exports/agreements.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def export_agreements(actor: CurrentActor, database: DatabaseDep, filters: AgreementFiltersDep,
                            settings: SettingsDep, lang: LangQuery = None) -> StreamingResponse:
    """The agreements `GET /agreements` would list with the same filters, one row each.

    Columns: id, title, workflow, workflow_version, state, version, parties, supporters,
    effective_from, ends_on, review_every_months, next_review_on, notice_period_days, signed_on,
    signing_place, focal_points, signatories, areas, updated_at, predecessor_id, successor_id: so
    in English; `?lang=fr` or `es` heads them in French or Spanish. The file, in any of the three,
    is also a valid `accord import` file.
    """
    language = _header_language(lang, actor, settings)
    return _csv(database, "agreements.csv", lambda s: reports.agreement_csv_rows(s, actor, filters, language))


@router.get("/exports/deliverables.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def export_deliverables(actor: CurrentActor, database: DatabaseDep, filters: AgreementFiltersDep,
                              when: WhenDep, settings: SettingsDep, lang: LangQuery = None) -> StreamingResponse:
    """The deliverables of the agreements `GET /agreements` would list with the same filters.

    Columns: id, agreement_id, agreement, area, title, owner (email), owner_name, due_on,
    status, overdue (yes/no), completed_on, progress_note, evidence_url, updated_at (`?lang=` as
    for agreements).
    """
    language = _header_language(lang, actor, settings)
    return _csv(database, "deliverables.csv",
                lambda s: reports.deliverable_csv_rows(s, actor, filters, when.today, language))

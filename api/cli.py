"""The `accord` command line (README.md, "Command line"; its room: docs/architecture.md, "Rooms").

    accord migrate                       bring the database to the current schema
    accord demo                          load the seed agreement, organisations and people
    accord admin create --name --email   create an administrator; the last line is a token
    accord serve [--host] [--port] [--demo]
    accord worker [--once] [--now ISO-8601]
    accord import FILE [--deliverables CSV] [--dry-run] [--as EMAIL]   (engine/importing/)

Settings come from the environment (`ACCORD_*`, engine/settings.py). A mistake the
user can fix (a bad `--now`, an unreachable database, an unmigrated schema) is one line
on stderr and exit status 1, never a traceback.

The CLI sits on top of everything (engine, notifications, the API) and nothing imports it but
the `accord` entry point. `accord serve` and `accord worker` import the API and the worker
inside the command, so `accord migrate` does not pay for loading them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import col

from engine import i18n
from engine import migrate as migrations
from engine.clock import Clock, SystemClock, When
from engine.context import Actor
from engine.db import Database
from engine.demo import load_demo
from engine.directory.service import create_organisation, create_person, issue_token
from engine.errors import AccordError, Conflict
from engine.importing import ImportFileError, ImportLimits, Progress, import_tables, read_tables
from engine.models import Organisation, Person
from engine.schemas import OrganisationCreate, PersonCreate
from engine.settings import Settings
from engine.statuses import Role

DEFAULT_ADMIN_ORGANISATION = "Accord administrators"

app = typer.Typer(
    name="accord", help="Accord: collaboration agreements as state machines, with reminders.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
admin_app = typer.Typer(help="Administrators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")

T = TypeVar("T")


class UserError(Exception):
    """A mistake the person at the terminal can fix; printed as one line."""


def fail(message: str) -> NoReturn:
    typer.echo(f"accord: {message}", err=True)
    raise typer.Exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (UserError, ImportFileError) as error:
        fail(str(error))
    except AccordError as error:
        fail(error.detail)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                             for e in error.errors())
        fail(problems)
    except ArgumentError as error:
        fail(f"invalid ACCORD_DATABASE_URL: {error}")
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        fail(f"database error: {str(cause).splitlines()[0]}")
    except (OSError, ValueError) as error:
        fail(str(error).splitlines()[0] if str(error) else type(error).__name__)


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def _run(work: Callable[[Database], Awaitable[T]], settings: Settings, *,
         needs_schema: bool = True) -> T:
    """Open the database, check it is migrated, run `work`, close it."""

    async def run() -> T:
        database = Database.from_settings(settings)
        try:
            if needs_schema and not await migrations.is_current_async(database.engine):
                raise UserError(f"the database {_safe_url(settings.database_url)} is not at the "
                                "current schema; run `accord migrate` first")
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


# --- migrate -----------------------------------------------------------------------------------

def _migrate(settings: Settings) -> None:
    migrations.upgrade(settings.database_url)
    typer.echo(f"Database {_safe_url(settings.database_url)} is at revision "
               f"{migrations.head_revision()} (head).")


@app.command()
def migrate() -> None:
    """Bring the database to the current schema."""
    with user_errors():
        _migrate(Settings())


# --- demo --------------------------------------------------------------------------------------

def _demo(settings: Settings, clock: Clock) -> None:
    report = _run(lambda database: load_demo(database, clock, settings.zone, settings), settings)
    for line in report.lines():
        typer.echo(line)
    typer.echo("Demo data loaded." if report.changed else
               "Demo data was already there; nothing changed.")


@app.command()
def demo() -> None:
    """Load the seed agreement and its organisations and people (idempotent)."""
    with user_errors():
        _demo(Settings(), SystemClock())


# --- admin -------------------------------------------------------------------------------------

# The CLI is the operator at the machine: it acts as an administrator with no person behind it.
OPERATOR = Actor(label="accord admin create", role=Role.ADMIN)


async def create_admin(database: Database, clock: Clock, settings: Settings, *, name: str,
                       email: str, organisation: str) -> tuple[Person, str, bool]:
    """An administrator (created, or found by email) and a new bearer token for them."""
    when = When.of(clock, settings.zone)
    async with database.transaction() as session:
        person = await session.scalar(select(Person).where(col(Person.email) == email.lower()))
        created = person is None
        if person is None:
            org = await session.scalar(select(Organisation).where(
                func.lower(col(Organisation.name)) == organisation.strip().lower()))
            if org is None:
                org = await create_organisation(
                    session, OrganisationCreate(name=organisation, kind="other"), OPERATOR, when.now)
            assert org.id is not None
            person = await create_person(session, PersonCreate(
                name=name, email=email, organisation_id=org.id, role=Role.ADMIN), OPERATOR, when.now)
        elif person.role != Role.ADMIN:
            raise Conflict(i18n.gettext("%(email)s belongs to %(name)s, who is %(role)s, not an administrator; use "
                                        "another email.") % {"email": person.email, "name": person.name,
                                                             "role": person.role})
        assert person.id is not None
        issued = await issue_token(session, person.id, OPERATOR, when.now, label="accord admin create")
        return person, issued.token, created


@admin_app.command("create")
def admin_create(
    name: Annotated[str, typer.Option("--name", help="the administrator's name")],
    email: Annotated[str, typer.Option("--email", help="the administrator's email")],
    organisation: Annotated[str, typer.Option(
        "--organisation", help="their organisation, created if missing")] = DEFAULT_ADMIN_ORGANISATION,
) -> None:
    """Create an administrator (or find them by email) and print a new bearer token as the last line."""
    with user_errors():
        settings = Settings()
        person, token, created = _run(lambda database: create_admin(
            database, SystemClock(), settings, name=name, email=email, organisation=organisation),
            settings)
        who = f"{person.name} <{person.email}> (person {person.id}, {person.organisation.name})"
        typer.echo(f"Created administrator {who}." if created else
                   f"Administrator {who} already exists; issued a new token.")
        typer.echo("Bearer token (shown once, stored only as a hash):")
        typer.echo(token)


# --- serve -------------------------------------------------------------------------------------

@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="migrate and load the demo data first")] = False,
) -> None:
    """The API, with the scheduler inside it. Links in mail, feeds and sign-in links lead to
    `ACCORD_BASE_URL`, or, unset, to the address it listens on."""
    with user_errors():
        settings = Settings().served_at(host, port)
        if demo:
            _migrate(settings)
            _demo(settings, SystemClock())
        elif not migrations.is_current(settings.database_url):
            raise UserError(f"the database {_safe_url(settings.database_url)} is not at the current "
                            "schema; run `accord migrate` first")
    import uvicorn

    from api.app import create_app

    typer.echo(f"Links in mail, calendar feeds and sign-in links lead to {settings.base_url}", err=True)
    # The factory itself, not an import string: uvicorn calls it in its own event loop. (A string
    # is needed only for uvicorn's `reload` and `workers`, which `accord serve` does not use.)
    uvicorn.run(partial(create_app, settings), factory=True, host=host, port=port)


# --- worker ------------------------------------------------------------------------------------

def parse_now(value: str, settings: Settings) -> datetime:
    """An ISO-8601 instant; without an offset it is read in Accord's time zone (ACCORD_TIMEZONE)."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO-8601 date or time, e.g. "
                        "2026-11-23T09:00:00+00:00") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=settings.zone)
    return instant


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="run one pass and exit")] = False,
    now: Annotated[str | None, typer.Option(
        "--now", help="with --once: run as of this ISO-8601 instant")] = None,
) -> None:
    """The scheduler alone: fire date-driven events and deliver reminders."""
    with user_errors():
        settings = Settings()
        if now is not None and not once:
            raise UserError("--now goes with --once: a worker that runs on keeps the real time")
        instant = parse_now(now, settings) if now is not None else None
        from notifications.worker import run_forever, run_once

        if not migrations.is_current(settings.database_url):
            raise UserError(f"the database {_safe_url(settings.database_url)} is not at the current "
                            "schema; run `accord migrate` first")
        if once:
            outcome = asyncio.run(run_once(settings, instant or SystemClock().now()))
            typer.echo(str(outcome))
            return
        try:
            asyncio.run(run_forever(settings))
        except KeyboardInterrupt:
            typer.echo("Worker stopped.")


# --- import ------------------------------------------------------------------------------------

@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on the terminal (rich, through typer) for `import_tables`' progress calls."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)

        yield update


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a .csv or .xlsx file of agreements, one row each")],
    deliverables: Annotated[Path | None, typer.Option(
        "--deliverables", help="a CSV of deliverables to go with a CSV of agreements")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check every row, write nothing")] = False,
    as_email: Annotated[str | None, typer.Option(
        "--as", help="the email of the staff member or administrator the history names")] = None,
) -> None:
    """Import existing agreements from CSV or XLSX: every row or none; the same file twice changes nothing."""
    with user_errors():
        settings = Settings()
        # The file is read, within the ACCORD_IMPORT_MAX_* limits, before the database is opened.
        tables = read_tables(file, deliverables, ImportLimits.of(settings))
        with progress_bar(sys.stdout.isatty()) as progress:
            report = _run(lambda database: import_tables(
                database, tables, dry_run=dry_run, clock=SystemClock(), actor_email=as_email,
                zone=settings.zone, progress=progress), settings)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)

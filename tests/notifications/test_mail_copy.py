"""What a reminder says, and to whom: its link opens the agreement's page; the owner of a
deliverable is not told about an escalation; due and overdue never come together; a partner is
asked only what a partner can do. Mail over a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import active_agreement, address, at, daily_passes, notifications, subject
from tests.support import World

BASE = "https://accord.example.org"
ESCALATION = "has not acted on it yet"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Accord as its people reach it: the base URL mails link to (with a trailing slash, as an
    operator may well write it)."""
    return settings.model_copy(update={"base_url": BASE + "/"})


def text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def what_to_do(message: EmailMessage) -> str:
    """The "What to do:" line of the plain text (a single reminder's)."""
    [line] = [line for line in text(message).splitlines() if line.startswith("What to do:")]
    return line


async def add_deliverable(world: World, agreement: dict[str, Any], title: str, owner: str,
                          due_on: str) -> dict[str, Any]:
    area = agreement["areas"][0]["id"]
    created: dict[str, Any] = await world.ok(
        "metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
        json={"title": title, "owner_id": world.people[owner].id, "due_on": due_on})
    return created


async def name_focal_point(world: World, agreement: dict[str, Any], who: str) -> None:
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.people[who].id, "kind": "focal_point"})


async def test_a_reminder_links_to_the_agreement_page_which_asks_to_sign_in_and_returns(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        client: httpx.AsyncClient) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    await worker.run_pass(at("2027-11-01T10:00"))  # 30 days before the review

    review = [m for m in smtp.messages if subject(m).startswith("Review due")]
    assert len(review) == 2
    page = f"{BASE}/agreements/{agreement['id']}"
    for message in review:
        assert f"Link: {page}" in text(message).splitlines()
        assert f'href="{page}"' in html(message)
        assert "/api/v1/" not in text(message) + html(message)

    # Opened without a session, the page asks to sign in and names itself as where to go back to.
    opened = await client.get(f"/agreements/{agreement['id']}")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/sign-in?next=/agreements/{agreement['id']}"


async def test_an_escalated_overdue_reminder_is_plain_to_its_owner_and_escalated_to_colleagues(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    # Two more Metropolis focal points, the owner's colleagues: a staff member and a partner.
    await name_focal_point(world, agreement, "metro_signatory")
    await name_focal_point(world, agreement, "metro_partner")
    await add_deliverable(world, agreement, "Gender mainstreaming toolkit", "metro_staff", "2027-03-01")
    await daily_passes([worker], date(2027, 2, 10), date(2027, 3, 7))
    smtp.messages.clear()

    await daily_passes([worker], date(2027, 3, 8), date(2027, 3, 8))  # 7 days late: escalated
    mails = {address(m): m for m in smtp.messages}
    owner = mails.pop("metro_staff@metropolis.example")
    assert subject(owner) == "Deliverable overdue: " + agreement["title"] + " — Gender mainstreaming toolkit"
    assert ESCALATION not in text(owner)
    assert ESCALATION not in html(owner)
    assert "Record its progress, mark it done" in what_to_do(owner)

    staff = mails.pop("metro_signatory@metropolis.example")
    assert f"its owner, {world.metro_staff.name}, {ESCALATION}" in text(staff)
    assert ESCALATION in html(staff)
    assert "Record its progress, mark it done" in what_to_do(staff)

    # The partner colleague cannot update someone else's deliverable: asked to tell its owner.
    partner = mails.pop("metro_partner@metropolis.example")
    assert ESCALATION in text(partner)
    assert "Record its progress" not in what_to_do(partner)
    assert f"Ask its owner, {world.metro_staff.name}," in what_to_do(partner)
    assert not mails


async def test_due_and_overdue_of_one_deliverable_on_one_pass_come_as_one_mail(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    # One owner gets a mail per reminder, the other a daily digest (a mail per day of reminders).
    await world.ok("metro_staff", "PUT", "/notification-preferences", json={"daily_digest": True})
    toolkit = await add_deliverable(world, agreement, "Gender mainstreaming toolkit", "aspac_staff", "2027-03-01")
    training = await add_deliverable(world, agreement, "Joint training", "metro_staff", "2027-03-01")
    await daily_passes([worker], date(2027, 2, 10), date(2027, 2, 28))
    smtp.messages.clear()

    # The worker is away on the due day and back the morning after: the day's reminder and the
    # first overdue one are both due on this pass.
    await worker.run_pass(at("2027-03-02T10:00"))
    assert sorted((address(m), subject(m).split(":")[0]) for m in smtp.messages) == [
        ("aspac_staff@aspac.example", "Deliverable overdue"),
        ("metro_staff@metropolis.example", "Deliverable overdue")]
    for message in smtp.messages:
        assert "Deliverable due" not in text(message)
    for deliverable in (toolkit, training):
        [due] = await notifications(database, subject_id=deliverable["id"], rule="deliverable_due",
                                    due_on=date(2027, 3, 1))
        assert (due.status, due.note) == ("cancelled", "superseded")

    # Nothing more about either until the 7-day overdue reminder.
    await daily_passes([worker], date(2027, 3, 2), date(2027, 3, 7))
    assert len(smtp.messages) == 2


async def test_a_partner_focal_point_is_asked_to_update_their_deliverables_not_to_start_the_review(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    await name_focal_point(world, agreement, "metro_partner")
    await worker.run_pass(at("2027-11-01T10:00"))  # 30 days before the review

    review = {address(m): m for m in smtp.messages if subject(m).startswith("Review due")}
    assert set(review) == {"metro_staff@metropolis.example", "aspac_staff@aspac.example",
                           "metro_partner@metropolis.example"}
    staff = what_to_do(review["metro_staff@metropolis.example"])
    assert "start the review in Accord" in staff
    partner = what_to_do(review["metro_partner@metropolis.example"])
    assert "start the review" not in partner
    assert "deliverables you own" in partner
    assert "start the review" not in html(review["metro_partner@metropolis.example"])

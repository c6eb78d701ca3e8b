"""The web pages over plain HTTP, as a browser without JavaScript sees them: sign-in, scoping, forms, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update

from engine.clock import FixedClock
from engine.db import Database
from engine.models import ApiToken, HistoryEvent, Person
from tests.checks import active, fire_ok, reviewed
from tests.support import World
from tests.web.helpers import csrf_of, sign_in, text_of


async def _agreement(world: World, **overrides: Any) -> dict[str, Any]:
    return await world.draft(**overrides)


async def _with_deliverable(world: World) -> tuple[dict[str, Any], int]:
    """A ready draft whose area has a deliverable owned by the Metropolis partner (named a focal point)."""
    agreement = await world.ready()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    deliverable = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                                 json={"title": "Joint training on gender mainstreaming", "due_on": "2026-11-01",
                                       "owner_id": world.metro_partner.id})
    return agreement, deliverable["id"]


async def test_pages_ask_for_sign_in_and_refuse_a_wrong_token(client: httpx.AsyncClient, world: World) -> None:
    answer = await client.get("/agreements/1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/agreements/1"
    assert (await client.get("/")).headers["location"] == "/sign-in"

    form = await client.get("/sign-in")
    assert '<label for="token">Access token</label>' in form.text
    refused = await client.post("/sign-in", data={"token": "acc_wrong", "csrf": csrf_of(form.text)})
    assert refused.status_code == 401
    assert "That token is not valid" in text_of(refused.text)
    assert "accord_session" not in refused.headers.get("set-cookie", "")


async def test_sign_in_keeps_a_signed_http_only_cookie_without_the_token(client: httpx.AsyncClient,
                                                                       world: World) -> None:
    form = await client.get("/sign-in?next=/overview")
    answer = await client.post("/sign-in", data={"token": world.metro_staff.token, "csrf": csrf_of(form.text),
                                                 "next": "/overview"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/overview"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("accord_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert world.metro_staff.token not in cookie
    page = await client.get("/overview")
    assert page.status_code == 200
    assert "Agnès Bickart" in page.text


async def test_sign_in_refuses_to_send_people_to_another_site(client: httpx.AsyncClient, world: World) -> None:
    form = await client.get("/sign-in")
    answer = await client.post("/sign-in", data={"token": world.metro_staff.token, "csrf": csrf_of(form.text),
                                                 "next": "//evil.example/"})
    assert answer.headers["location"] == "/agreements"


async def test_sign_in_without_the_form_csrf_is_refused(client: httpx.AsyncClient, world: World) -> None:
    answer = await client.post("/sign-in", data={"token": world.metro_staff.token})
    assert answer.status_code == 403
    assert "Form refused" in answer.text
    assert "accord_session" not in answer.headers.get("set-cookie", "")


async def test_list_shows_badges_parties_and_filters(client: httpx.AsyncClient, world: World) -> None:
    first = await _agreement(world, next_review_on="2027-06-01")
    await _agreement(world, title="City-to-city cooperation on flood resilience")
    await sign_in(client, world.metro_staff.token)

    page = await client.get("/agreements")
    words = text_of(page.text)
    assert "2 agreements." in words
    assert '<span class="badge state-draft">Draft</span>' in page.text
    assert "Metropolis, UCLG ASPAC" in words
    assert "1 June 2027 review" in words
    assert "<script" not in page.text

    searched = text_of((await client.get("/agreements", params={"q": "flood"})).text)
    assert "1 agreement matches these filters." in searched
    assert "flood resilience" in searched
    assert first["title"] not in searched
    none = text_of((await client.get("/agreements", params={"state": "active"})).text)
    assert "0 agreements match these filters." in none
    by_party = text_of((await client.get("/agreements", params={"party": str(world.orgs["amf"])})).text)
    assert "0 agreements" in by_party


async def test_agreement_page_reads_without_javascript(client: httpx.AsyncClient, world: World) -> None:
    agreement, _ = await _with_deliverable(world)
    await sign_in(client, world.metro_staff.token)

    page = await client.get(f"/agreements/{agreement['id']}")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # no script may run at all
    words = text_of(page.text)
    assert agreement["title"] in words
    assert "Focal points Agnès Bickart" in words  # Metropolis names two focal points
    assert "Signatory Secretary General, UCLG ASPAC" in words
    assert "Timeline of the agreement" in page.text
    assert 'class="today"' in page.text
    assert "Capacity building and gender mainstreaming (0 of 1 done)" in words
    assert "overdue" in words  # due 2026-11-01, today is 2026-11-23
    assert "Lifecycle" in words
    assert 'aria-current="step"' in page.text
    assert "Submit for signature" in words
    assert "History" in words
    assert "Created by Agnès Bickart" in words


async def test_staff_walk_an_agreement_through_signature_with_forms(client: httpx.AsyncClient, world: World,
                                                                   clock: FixedClock) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get(path)
    version = agreement["version"] + 4  # four people named since it was drafted

    answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "submit_for_signature",
                                                       "version": str(version), "comment": "Ready to sign."})
    assert answer.status_code == 303
    page = await client.get(answer.headers["location"])
    assert "Done: Submit for signature. The agreement is now pending signature." in text_of(page.text)
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # submitted on 2026-11-23, signed since
    csrf = await sign_in(client, world.metro_staff.token)  # a web session lasts 12 hours
    answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "sign", "signed_on": "2026-11-24",
                                                       "place": "Barcelona"})
    assert answer.status_code == 303

    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other:
        other_csrf = await sign_in(other, world.aspac_staff.token)
        answer = await other.post(f"{path}/events", data={"csrf": other_csrf, "event": "sign", "place": "Jakarta"})
        assert answer.status_code == 303
    reading = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert reading["state"] == "signed"
    words = text_of((await client.get(path)).text)
    assert "Signed on 24 November 2026 in Barcelona" in words
    assert "Signed on 25 November 2026 in Jakarta" in words
    assert "Sign (pending signature → signed) by UCLG ASPAC focal point" in words


async def test_an_unmet_guard_shows_its_sentences_and_changes_nothing(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    agreement = await _agreement(world)  # nobody named yet
    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert "Not possible yet:" in page.text  # the sentences show before anyone presses the button

    answer = await client.post(f"/agreements/{agreement['id']}/events",
                               data={"csrf": csrf, "event": "submit_for_signature"})
    assert answer.status_code == 422
    words = text_of(answer.text)
    assert "Conditions not met (422)" in words
    assert "focal point" in words
    assert "signatory" in words
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["state"] == "draft"


async def test_a_missing_field_and_a_stale_page_are_explained(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    csrf = await sign_in(client, world.metro_staff.token)
    path = f"/agreements/{agreement['id']}/events"
    for version in ("1", "²", "abc"):  # the same check as If-Match: a version that is not current
        stale = await client.post(path, data={"csrf": csrf, "event": "submit_for_signature", "version": version})
        assert stale.status_code == 409, (version, stale.status_code)
        assert "Someone changed this agreement after you opened the page" in text_of(stale.text)
    bad_date = await client.post(path, data={"csrf": csrf, "event": "cancel", "ends_on": "not a date"})
    assert bad_date.status_code == 422
    assert "End date: " in text_of(bad_date.text)  # the field as the page names it
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["state"] == "draft"


async def test_forms_without_the_session_csrf_are_refused(client: httpx.AsyncClient, world: World) -> None:
    agreement, deliverable = await _with_deliverable(world)
    await sign_in(client, world.metro_staff.token)
    for data in ({"event": "cancel"}, {"event": "cancel", "csrf": "forged-by-another-site-000000"}):
        answer = await client.post(f"/agreements/{agreement['id']}/events", data=data)
        assert answer.status_code == 403
        assert "This form was not sent from a page of this site" in text_of(answer.text)
    answer = await client.post(f"/deliverables/{deliverable}", data={"status": "done"})
    assert answer.status_code == 403
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["state"] == "draft"


async def test_partner_updates_the_deliverable_they_own_and_only_that(client: httpx.AsyncClient,
                                                                    world: World) -> None:
    agreement, deliverable = await _with_deliverable(world)
    csrf = await sign_in(client, world.metro_partner.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert f'action="/agreements/{agreement["id"]}/events"' not in page.text  # partners do not move it
    assert f'action="/deliverables/{deliverable}"' in page.text

    answer = await client.post(f"/deliverables/{deliverable}", data={
        "csrf": csrf, "status": "done", "progress_note": "Held in Seoul with 40 officers.",
        "evidence_url": "https://www.metropolis.org/training"})
    assert answer.status_code == 303
    words = text_of((await client.get(answer.headers["location"])).text)
    assert "Deliverable updated." in words
    assert "Held in Seoul with 40 officers." in words
    assert "(1 of 1 done)" in words

    bad = await client.post(f"/deliverables/{deliverable}", data={"csrf": csrf, "status": "done",
                                                                  "evidence_url": "javascript:alert(1)"})
    assert bad.status_code == 422
    assert "evidence link: " in text_of(bad.text)  # the field as the page names it

    other = await world.ok("aspac_staff", "POST", f"/agreements/{agreement['id']}/areas/"
                           f"{agreement['areas'][0]['id']}/deliverables",
                           json={"title": "Peer learning visit", "owner_id": world.aspac_staff.id})
    refused = await client.post(f"/deliverables/{other['id']}", data={"csrf": csrf, "status": "done"})
    assert refused.status_code == 403
    assert "You can update only the deliverables you own." in text_of(refused.text)


async def test_partner_cannot_reach_another_organisations_agreement(client: httpx.AsyncClient,
                                                                   world: World) -> None:
    agreement, deliverable = await _with_deliverable(world)
    csrf = await sign_in(client, world.amf_partner.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert page.status_code == 404
    assert f"There is no agreement {agreement['id']} that you can see." in text_of(page.text)
    assert agreement["title"] not in page.text
    assert "0 agreements." in text_of((await client.get("/agreements")).text)
    answer = await client.post(f"/deliverables/{deliverable}", data={"csrf": csrf, "status": "done"})
    assert answer.status_code == 404
    fired = await client.post(f"/agreements/{agreement['id']}/events", data={"csrf": csrf, "event": "cancel"})
    assert fired.status_code == 404
    assert (await client.get("/overview")).status_code == 403


async def test_overview_counts_due_dates_and_overdue_deliverables(client: httpx.AsyncClient, world: World) -> None:
    await _with_deliverable(world)
    await _agreement(world, next_review_on="2027-01-15")
    await sign_in(client, world.metro_staff.token)
    words = text_of((await client.get("/overview")).text)
    assert "2 Draft" in words
    assert "15 January 2027 Review the agreement" in words
    assert "Overdue deliverables (1)" in words
    assert "Joint training on gender mainstreaming" in words
    assert "22 days late" in words


async def test_sign_out_and_a_revoked_token_end_the_session(client: httpx.AsyncClient, world: World,
                                                           database: Database, clock: FixedClock) -> None:
    csrf = await sign_in(client, world.metro_staff.token)
    answer = await client.post("/sign-out", data={"csrf": csrf})
    assert answer.status_code == 303
    assert (await client.get("/agreements")).status_code == 303

    await sign_in(client, world.aspac_staff.token)
    async with database.transaction() as session:
        await session.execute(update(ApiToken).where(ApiToken.person_id == world.aspac_staff.id)  # type: ignore[arg-type]
                              .values(revoked_at=datetime(2026, 11, 23, 10, tzinfo=UTC)))
    answer = await client.get("/agreements")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


async def test_errors_are_friendly_pages_not_problem_json(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.metro_staff.token)
    answer = await client.get("/agreements/not-a-number")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Traceback" not in answer.text
    missing = await client.get("/agreements/999999")
    assert missing.status_code == 404
    assert "There is no agreement 999999 that you can see." in text_of(missing.text)
    css = await client.get("/static/web.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert (await client.get("/static/secret.py")).status_code == 404


async def test_a_long_list_pages_and_keeps_its_filter(client: httpx.AsyncClient, world: World) -> None:
    for n in range(51):
        await world.draft(title=f"Cooperation {n:02d}")
    await sign_in(client, world.metro_staff.token)

    first = await client.get("/agreements", params={"state": "draft"})
    assert first.status_code == 200
    assert "Page 1 of 2" in text_of(first.text)
    assert 'href="/agreements?state=draft&amp;page=2" rel="next"' in first.text
    assert 'rel="prev"' not in first.text

    second = await client.get("/agreements", params={"state": "draft", "page": "2"})
    assert "Page 2 of 2" in text_of(second.text)
    assert 'href="/agreements?state=draft&amp;page=1" rel="prev"' in second.text
    assert 'rel="next"' not in second.text


# --- the history says what changed ----------------------------------------------------------

async def test_the_history_says_what_an_edit_and_a_deliverable_correction_changed(
        client: httpx.AsyncClient, world: World) -> None:
    agreement, deliverable = await _with_deliverable(world)
    await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}", json={"ends_on": "2029-12-31"})
    await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}", json={"ends_on": "2031-12-31"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{deliverable}", json={"due_on": "2026-12-15"})
    csrf = await sign_in(client, world.metro_partner.token)
    answer = await client.post(f"/deliverables/{deliverable}", data={"csrf": csrf, "status": "done"})
    assert answer.status_code == 303

    page = await client.get(f"/agreements/{agreement['id']}")
    words = text_of(page.text)
    assert "End date: not set → 31 December 2029" in words
    assert "End date: 31 December 2029 → 31 December 2031" in words
    assert "Deliverable “Joint training on gender mainstreaming”: due 1 November 2026 → 15 December 2026" in words
    assert "Deliverable “Joint training on gender mainstreaming”: status planned → done" in words
    assert "Focal point for Metropolis named: Metropolis programme officer" in words
    assert "record version" not in words
    assert "last changed 23 November 2026, 10:00" in words  # the partner's organisation is in Europe/Madrid


async def test_the_history_says_on_whose_behalf_an_administrator_signed(client: httpx.AsyncClient,
                                                                       world: World) -> None:
    agreement = await world.ready()
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    await fire_ok(world, "admin", agreement["id"], "sign", organisation_id=world.orgs["aspac"], place="Jakarta")
    await sign_in(client, world.metro_staff.token)
    words = text_of((await client.get(f"/agreements/{agreement['id']}")).text)
    assert ("Signature of UCLG ASPAC: signed 23 November 2026 in Jakarta by Secretary General, UCLG ASPAC"
            in words)
    assert "Recorded by Accord Administrator on behalf of UCLG ASPAC." in words


async def test_the_history_shows_the_review_s_outcome_and_summary(client: httpx.AsyncClient,
                                                                 world: World) -> None:
    agreement = await reviewed(world, "renew")
    await sign_in(client, world.aspac_staff.token)
    words = text_of((await client.get(f"/agreements/{agreement['id']}")).text)
    assert ("23 November 2026, 16:00 Complete review (under review → reviewed) by Agnès Bickart "
            "Outcome: renew Summary: “All four areas on track.”") in words


async def test_rows_from_before_diffs_show_what_their_data_says(client: httpx.AsyncClient, world: World,
                                                               database: Database) -> None:
    agreement = await reviewed(world, "continue")
    await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}", json={"next_review_on": "2028-03-01"})
    async with database.transaction() as session:  # as rows written before migration 0005 are
        await session.execute(update(HistoryEvent).where(HistoryEvent.agreement_id == agreement["id"])  # type: ignore[arg-type]
                              .values(diff=None))
    await sign_in(client, world.metro_staff.token)
    words = text_of((await client.get(f"/agreements/{agreement['id']}")).text)
    assert "Next review: 1 November 2027 → 1 March 2028" in words
    assert "Outcome: continue Summary: “All four areas on track.”" in words
    assert "Signature of UCLG ASPAC: signed 23 November 2026 in Montevideo by Secretary General, UCLG ASPAC" in words


async def test_history_times_are_in_the_viewer_s_time_zone(client: httpx.AsyncClient, world: World,
                                                          database: Database) -> None:
    agreement = await _agreement(world)  # created at 09:00 UTC
    path = f"/agreements/{agreement['id']}"
    for who, zone, seen in (("metro_staff", "Europe/Madrid", "23 November 2026, 10:00"),
                            ("aspac_staff", "Asia/Jakarta", "23 November 2026, 16:00"),
                            ("admin", "UTC", "23 November 2026, 09:00")):
        async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as browser:
            await sign_in(browser, world.people[who].token)
            page = await browser.get(path)
        words = text_of(page.text)
        assert f"Times are in your time zone, {zone}." in words, who
        assert f"{seen} Created by Agnès Bickart" in words, who
        assert '<time datetime="2026-11-23T09:00:00+00:00">' in page.text
    # A person's own time zone comes before their organisation's.
    async with database.transaction() as session:
        await session.execute(update(Person).where(Person.id == world.metro_staff.id)  # type: ignore[arg-type]
                              .values(timezone="America/Montevideo"))
    await sign_in(client, world.metro_staff.token)
    words = text_of((await client.get(path)).text)
    assert "23 November 2026, 06:00 Created by Agnès Bickart" in words


# --- events that cannot be undone ask first; the scheduler's are said, not offered -----------

async def test_terminate_asks_first_and_terminates_only_when_confirmed(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    agreement = await active(world, ends_on="2031-12-31")
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.metro_staff.token)
    page = await client.get(path)
    assert f'href="{path}/events/terminate"' in page.text  # a link to its own page, not a form
    assert 'name="event" value="terminate"' not in page.text
    assert 'class="event grave"' in page.text
    assert 'name="event" value="start_review"' in page.text  # routine events stay forms

    asked = await client.get(f"{path}/events/terminate")
    assert asked.status_code == 200
    words = text_of(asked.text)
    assert "The agreement becomes Terminated, for good" in words
    assert "Accord no longer does by itself: Start review on 1 November 2027; Expire on 1 January 2032." in words
    assert "These reminders stop: Review due, Agreement ends soon" in words
    assert "This cannot be undone." in words

    # The event's form without the confirmation shows the confirmation page and changes nothing.
    unconfirmed = await client.post(f"{path}/events", data={
        "csrf": csrf, "event": "terminate", "version": str(agreement["version"]), "reason": "Merged."})
    assert unconfirmed.status_code == 200
    assert "What will happen" in text_of(unconfirmed.text)
    assert ">Merged.</textarea>" in unconfirmed.text  # what was typed is kept
    assert 'name="confirmed" value="terminate"' in unconfirmed.text
    assert (await world.ok("metro_staff", "GET", path))["state"] == "active"

    # Confirmed without CSRF, or without a reason: refused, nothing changed.
    forged = await client.post(f"{path}/events", data={"event": "terminate", "confirmed": "terminate",
                                                       "version": str(agreement["version"]), "reason": "x"})
    assert forged.status_code == 403
    no_reason = await client.post(f"{path}/events", data={
        "csrf": csrf, "event": "terminate", "confirmed": "terminate", "version": str(agreement["version"])})
    assert no_reason.status_code == 422
    assert "Give a reason." in text_of(no_reason.text)
    assert "What will happen" in text_of(no_reason.text)  # the confirmation page again, to add it
    stale = await client.post(f"{path}/events", data={
        "csrf": csrf, "event": "terminate", "confirmed": "terminate", "version": "1", "reason": "Merged."})
    assert stale.status_code == 409
    assert "Someone changed this agreement after you opened the page" in text_of(stale.text)
    assert (await world.ok("metro_staff", "GET", path))["state"] == "active"

    confirmed = await client.post(f"{path}/events", data={
        "csrf": csrf, "event": "terminate", "confirmed": "terminate", "version": str(agreement["version"]),
        "reason": "Merged into the regional programme."})
    assert confirmed.status_code == 303
    assert (await world.ok("metro_staff", "GET", path))["state"] == "terminated"
    words = text_of((await client.get(confirmed.headers["location"])).text)
    assert "Done: Terminate. The agreement is now terminated." in words


async def test_withdraw_says_which_signatures_it_clears(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    await fire_ok(world, "metro_staff", agreement["id"], "sign", place="Barcelona")
    await sign_in(client, world.aspac_staff.token)
    words = text_of((await client.get(f"/agreements/{agreement['id']}/events/withdraw")).text)
    assert "The agreement becomes Draft." in words
    assert "The signatures recorded so far are cleared: Metropolis (signed 23 Nov 2026)." in words
    assert "These reminders stop: Signature pending." in words
    # A routine event has no confirmation page.
    assert (await client.get(f"/agreements/{agreement['id']}/events/sign")).status_code == 404


async def test_activate_is_said_with_its_date_not_offered_as_a_button(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    agreement = await world.signed()  # effective from 2026-12-01; today is 2026-11-23
    await sign_in(client, world.metro_staff.token)
    page = await client.get(f"/agreements/{agreement['id']}")
    assert 'value="activate"' not in page.text
    words = text_of(page.text)
    assert "What happens by itself" in words
    assert "On 1 December 2026 the agreement becomes Active. Accord does this by itself; nobody needs to act." in words
    partner = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with partner:
        await sign_in(partner, world.aspac_partner.token)  # who reads the agreement reads it too
        assert "On 1 December 2026 the agreement becomes Active." in text_of(
            (await partner.get(f"/agreements/{agreement['id']}")).text)

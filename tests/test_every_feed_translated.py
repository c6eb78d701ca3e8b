"""Every entry of a calendar feed reads wholly in its French or Spanish owner's language: the day an
agreement takes effect, its review, its notice deadline, its end, each deliverable, in a person's
feed and in an agreement's; no summary or description says a sentence of the English catalog
(`english_sentences`, as the pages are checked in tests/web/test_translated_pages.py) or one of the
short English words an entry is made of, and the agreement's state is its workflow's label in the
owner's language, not its name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from engine import i18n
from engine.statuses import Language
from engine.workflow.machine import catalog
from tests.support import World
from tests.web.test_translated_pages import english_sentences

# The short English words of an entry, too short for `english_sentences` (fewer than three words).
FEED_WORDS = {"Review due", "Agreement ends", "Agreement:", "Area:", "Owner:", "status:", "planned", "(draft)",
              "Deliverable due"}


async def entries(world: World, who: str, agreement_id: int | None = None) -> tuple[str, list[Any]]:
    """The feed's name, as a calendar app shows it, and its entries."""
    feed = await world.ok(who, "POST", "/feeds", json={"agreement_id": agreement_id} if agreement_id else None)
    response = await world.client.get(urlsplit(feed["url"]).path)
    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    return str(calendar["X-WR-CALNAME"]), list(calendar.walk("VEVENT"))


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_every_feed_entry_reads_in_its_owners_language(world: World, language: Language) -> None:
    agreement = await world.ready(ends_on="2029-11-30", next_review_on="2027-12-01", notice_period_days=90)
    area = agreement["areas"][0]["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "Toolkit", "owner_id": world.metro_staff.id, "due_on": "2027-03-01"})
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"language": language})
    english = english_sentences(language) | FEED_WORDS
    state = catalog().get("collaboration_agreement", 1).spec.label_of("draft", language).lower()

    for agreement_id in (None, agreement["id"]):  # the person's feed, and the agreement's
        name, found = await entries(world, "metro_staff", agreement_id)
        with i18n.reading(language):  # "Accord : …" in French
            assert name == i18n.gettext("Accord: %(name)s") % {
                "name": agreement["title"] if agreement_id else world.metro_staff.name}
        kinds = {str(entry["UID"]).split("-")[0] for entry in found}
        wanted = {"review", "notice", "expiry", "deliverable"} | ({"start"} if agreement_id else set())
        assert kinds == wanted, kinds
        for entry in found:
            said = " ".join(f"{entry['SUMMARY']} {entry['DESCRIPTION']}".split())
            left = sorted(sentence for sentence in english if sentence in said)
            assert not left, f"a {language} feed entry still says, in English: {left}\n{said}"
            if str(entry["UID"]).startswith("review"):  # punctuated as the language does ("… : …")
                with i18n.reading(language):
                    assert str(entry["SUMMARY"]) == i18n.gettext("%(reminder)s: %(agreement)s") % {
                        "reminder": i18n.gettext("Review due"), "agreement": agreement["title"]}
            if not str(entry["UID"]).startswith("deliverable"):
                assert f"({state})" in said, said  # the state's label, not its name

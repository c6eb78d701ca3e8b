"""A calendar feed is worded in its owner's language (engine/feeds.py, engine/i18n.py): the same
agreement's dates read in Spanish in one feed and in English in another."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar

from tests.support import World


async def _entries(world: World, who: str) -> dict[str, Any]:
    feed = await world.ok(who, "POST", "/feeds", json=None)
    response = await world.client.get(urlsplit(feed["url"]).path)
    assert response.status_code == 200, response.text
    return {str(e["UID"]).split("-")[0]: e for e in Calendar.from_ical(response.content).walk("VEVENT")}


async def test_each_feed_speaks_its_owners_language(world: World) -> None:
    agreement = await world.ready(ends_on="2029-11-30", next_review_on="2027-12-01", notice_period_days=90)
    area = agreement["areas"][0]["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "Toolkit", "owner_id": world.metro_staff.id, "due_on": "2027-03-01"})
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"language": "es"})

    spanish = await _entries(world, "metro_staff")
    assert str(spanish["review"]["SUMMARY"]) == f"Revisión pendiente: {agreement['title']}"
    assert "registre el resultado (continuar, renovar o rescindir)" in str(spanish["review"]["DESCRIPTION"])
    assert "30 de noviembre de 2029" in str(spanish["notice"]["DESCRIPTION"])
    assert str(spanish["deliverable"]["SUMMARY"]) == f"Entregable previsto: Toolkit ({agreement['title']})"
    assert "(situación: previsto)" in str(spanish["deliverable"]["DESCRIPTION"])

    english = await _entries(world, "aspac_staff")
    assert str(english["review"]["SUMMARY"]) == f"Review due: {agreement['title']}"
    assert "30 November 2029" in str(english["notice"]["DESCRIPTION"])

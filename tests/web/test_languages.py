"""The pages' language (engine/i18n.py, api/web/pages.py `page_language`): the one chosen with the
switch, else the signed-in person's (theirs, else their organisation's), else the browser's
Accept-Language, else ACCORD_DEFAULT_LANGUAGE; and `<html lang>` says which."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx

from engine import i18n
from engine.statuses import Language
from tests.support import World
from tests.web.helpers import csrf_of, sign_in, text_of


def lang_of(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, "the page has no <html lang>"
    return found.group(1)


async def test_before_sign_in_the_page_speaks_the_browsers_language(client: httpx.AsyncClient) -> None:
    page = await client.get("/sign-in")
    assert lang_of(page.text) == "en"
    assert "Skip to content" in page.text
    french = await client.get("/sign-in", headers={"Accept-Language": "de-CH, fr-CA;q=0.8, es;q=0.5"})
    assert lang_of(french.text) == "fr"
    assert french.headers["content-language"] == "fr"
    assert "Aller au contenu" in french.text
    spanish = await client.get("/sign-in", headers={"Accept-Language": "fr;q=0.3, es-419;q=0.9"})
    assert lang_of(spanish.text) == "es"
    assert "Ir al contenido" in spanish.text
    refused = await client.post("/sign-in", headers={"Accept-Language": "es"}, data={
        "token": "acc_not_a_token", "csrf": csrf_of(spanish.text), "next": "/agreements"})
    assert refused.status_code == 401
    assert "Este token no es válido (o ha sido revocado)." in text_of(refused.text)
    # A language Accord does not speak falls back to the default.
    assert lang_of((await client.get("/sign-in", headers={"Accept-Language": "de"})).text) == "en"


async def test_the_switch_on_every_page_remembers_the_choice(client: httpx.AsyncClient, world: World) -> None:
    page = await client.get("/sign-in", headers={"Accept-Language": "fr"})
    # Every language but the page's own is a link back to the same page.
    assert 'href="/language/es?next=/sign-in" lang="es" hreflang="es">Español</a>' in page.text
    assert 'href="/language/en?next=/sign-in" lang="en" hreflang="en">English</a>' in page.text
    assert '<span lang="fr" aria-current="true">Français</span>' in page.text
    chosen = await client.get("/language/es", params={"next": "/sign-in"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/sign-in"
    # The choice outweighs the browser's Accept-Language, and stays once signed in.
    assert lang_of((await client.get("/sign-in", headers={"Accept-Language": "fr"})).text) == "es"
    await sign_in(client, world.metro_staff.token)
    agreements = await client.get("/agreements")
    assert lang_of(agreements.text) == "es"
    assert ">Cerrar sesión</button>" in agreements.text
    # Somewhere else than this site is never where the switch leads.
    assert (await client.get("/language/fr", params={"next": "//evil.example/"})).headers["location"] == "/agreements"
    unknown = await client.get("/language/de")
    assert unknown.status_code == 404
    assert "English, Français, Español" in text_of(unknown.text)  # each language by its own name


async def test_a_signed_in_person_reads_their_language_set_through_the_api(
        client: httpx.AsyncClient, world: World, app: Any) -> None:
    # A partner may choose their own language, and nothing else about themself.
    chosen = await world.ok("aspac_partner", "PATCH", f"/people/{world.aspac_partner.id}", json={"language": "fr"})
    assert chosen["language"] == Language.FR
    refused = await world.call("aspac_partner", "PATCH", f"/people/{world.aspac_partner.id}",
                               json={"language": "es", "job_title": "Officer"})
    assert refused.status_code == 403
    invalid = await world.call("aspac_partner", "PATCH", f"/people/{world.aspac_partner.id}", json={"language": "de"})
    assert invalid.status_code == 422
    await sign_in(client, world.aspac_partner.token)
    page = await client.get("/agreements", headers={"Accept-Language": "es"})
    assert lang_of(page.text) == "fr"
    assert ">Se déconnecter</button>" in page.text
    assert "(partenaire)" in text_of(page.text)


async def test_without_a_language_of_their_own_a_person_reads_their_organisations(
        client: httpx.AsyncClient, world: World) -> None:
    organisation = await world.ok("admin", "POST", "/organisations", json={
        "name": "Ciudad de México", "kind": "local_government", "timezone": "America/Mexico_City",
        "language": "es"})
    assert organisation["language"] == Language.ES
    person = await world.ok("admin", "POST", "/people", json={
        "name": "Lucía Hernández", "email": "lucia@cdmx.example", "organisation_id": organisation["id"],
        "role": "staff"})
    assert person["language"] is None
    token = (await world.ok("admin", "POST", f"/people/{person['id']}/tokens", json={}))["token"]
    await sign_in(client, token)
    page = await client.get("/agreements")
    assert lang_of(page.text) == "es"
    assert "(personal)" in text_of(page.text)
    # Their own choice outweighs their organisation's.
    await world.ok("admin", "PATCH", f"/people/{person['id']}", json={"language": "en"})
    assert lang_of((await client.get("/agreements")).text) == "en"


async def test_the_person_form_sets_a_language(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.admin.token)
    form = await client.get(f"/people/{world.aspac_staff.id}/edit")
    assert '<option value="es">Español</option>' in form.text
    saved = await client.post(f"/people/{world.aspac_staff.id}", data={
        "csrf": csrf, "name": world.aspac_staff.name, "role": "staff", "language": "es"})
    assert saved.status_code == 303, saved.text
    shown = await world.ok("admin", "GET", f"/people/{world.aspac_staff.id}")
    assert shown["language"] == Language.ES
    form = await client.get(f"/people/{world.aspac_staff.id}/edit")
    assert '<option value="es" selected>Español</option>' in form.text


def test_days_and_numbers_are_written_as_each_reader_writes_them() -> None:
    day = date(2019, 4, 6)
    assert i18n.format_day(day, Language.EN) == "6 April 2019"
    assert i18n.format_day(day, Language.FR) == "6 avril 2019"
    assert i18n.format_day(day, Language.ES) == "6 de abril de 2019"
    with i18n.reading(Language.ES):
        assert i18n.format_day(day) == "6 de abril de 2019"
        assert i18n.gettext("Agreements") == "Acuerdos"
    assert i18n.gettext("Agreements") == "Agreements"
    assert i18n.format_number(1234.5, Language.FR) == "1\u202f234,5"


async def test_an_agreement_page_names_states_and_events_in_the_workflow_files_words(
        client: httpx.AsyncClient, world: World) -> None:
    # The state, the buttons, the list beside the diagram and the diagram itself speak the workflow
    # file's French (`labels: {fr: ...}`), not its English.
    agreement = await world.signed()
    await sign_in(client, world.metro_staff.token)
    await client.get("/language/fr", params={"next": "/agreements"})
    page = text_of((await client.get(f"/agreements/{agreement['id']}")).text)
    assert "Signé" in page
    assert "Mettre en vigueur" in page  # the event the agreement may take next
    assert "Accord de collaboration" in page  # the workflow's title
    assert "Activate" not in page
    listed = text_of((await client.get("/agreements")).text)
    assert "Signé" in listed

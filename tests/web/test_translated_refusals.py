"""What a French or Spanish reader is told after sending a form that is refused: the refusal in
their language (the whole page request runs in it: api/web/pages.py `WebRoute`), never marked
`lang="en"` (an error knows the language it was written in: engine/errors.py), and no sentence of
the English catalog left on the page. Nothing changes on the agreement."""

from __future__ import annotations

import httpx
import pytest

from engine.statuses import Language
from tests.support import World
from tests.web.helpers import sign_in, text_of
from tests.web.test_translated_pages import english_sentences

SAID = {
    Language.FR: {
        "terms": "proposez un avenant, que chaque partie signe",
        "cancel": "n’est pas possible tant que l’accord est à l’état",
        "stale": "Quelqu’un a modifié cet accord après que vous avez ouvert la page",
        "other party": "Seule l’organisation UCLG ASPAC désigne et retire ses propres points focaux",
        "too long": "Note d’avancement : texte trop long, 20 000 caractères au plus",
        "partner": "Vous pouvez lire cet accord mais pas le modifier",
    },
    Language.ES: {
        "terms": "proponga una enmienda, que firman todas las partes",
        "cancel": "no es posible mientras el acuerdo está en estado",
        "stale": "Alguien modificó este acuerdo después de que usted abriera la página",
        "other party": "Solo UCLG ASPAC designa y retira sus propios puntos focales",
        "too long": "Nota de avance: texto demasiado largo, 20.000 caracteres como máximo",
        "partner": "Puede leer este acuerdo pero no modificarlo",
    },
}


def read_in(language: Language, page: httpx.Response, *expected: str) -> None:
    """`page` says each of `expected` in `language`, unmarked, and no English sentence of the catalog."""
    assert f'<html lang="{language}">' in page.text
    words = text_of(page.text)
    for sentence in expected:
        assert sentence in words, (sentence, words)
    assert 'lang="en"' not in page.text.partition("<main")[2].replace('lang="en" hreflang="en"', ""), \
        "a refusal is marked English"
    left = sorted(sentence for sentence in english_sentences(language) if sentence in words)
    assert not left, f"still in English: {left}"


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_staff_read_the_refusals_of_their_forms_in_their_language(client: httpx.AsyncClient, world: World,
                                                                        language: Language) -> None:
    said = SAID[language]
    signed = await world.signed()
    path = f"/agreements/{signed['id']}"
    await client.get(f"/language/{language}")
    csrf = await sign_in(client, world.metro_staff.token)
    version = str(signed["version"])

    for target, data, status, sentence in (
        (f"{path}/terms", {"version": version, "title": "Changed after signing"}, 409, said["terms"]),
        (f"{path}/events", {"version": version, "event": "cancel"}, 409, said["cancel"]),
        (f"{path}/areas", {"version": str(int(version) - 1), "title": "Climate finance"}, 409, said["stale"]),
        (f"{path}/contacts", {"version": version, "organisation_id": str(world.orgs["aspac"]),
                              "person_id": str(world.aspac_staff.id), "kind": "focal_point"}, 403, said["other party"]),
    ):
        answer = await client.post(target, data={"csrf": csrf, **data})
        assert answer.status_code == status, (target, answer.status_code, text_of(answer.text))
        read_in(language, answer, sentence)

    # An event the state does not allow, asked for by its confirmation page: an error page, titled in words.
    not_now = await client.get(f"{path}/events/cancel")
    assert not_now.status_code == 409
    read_in(language, not_now, {Language.FR: "Action impossible dans cet état (409)",
                                Language.ES: "Acción no posible en este estado (409)"}[language], said["cancel"])

    deliverable = await world.ok("metro_staff", "POST", f"{path}/areas/{signed['areas'][0]['id']}/deliverables",
                                 json={"title": "City profile", "owner_id": world.metro_staff.id})
    long_note = await client.post(f"/deliverables/{deliverable['id']}", data={
        "csrf": csrf, "status": "in_progress", "progress_note": "n" * 20_001})
    assert long_note.status_code == 422
    read_in(language, long_note, said["too long"])
    after = await world.ok("metro_staff", "GET", path)
    assert (after["title"], after["state"]) == (signed["title"], signed["state"])
    assert after["areas"][0]["deliverables"][0]["status"] == "planned"


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_a_partner_s_forged_post_is_refused_in_their_language_and_not_marked_english(
        client: httpx.AsyncClient, world: World, language: Language) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}"
    await client.get(f"/language/{language}")
    csrf = await sign_in(client, world.metro_partner.token)
    version = str((await world.ok("metro_staff", "GET", path))["version"])
    for target, data in ((f"{path}/areas", {"title": "Crafted"}), (f"{path}/events", {"event": "cancel"})):
        answer = await client.post(target, data={"csrf": csrf, "version": version, **data})
        assert answer.status_code == 403, (target, answer.status_code)
        read_in(language, answer, SAID[language]["partner"])
    assert str((await world.ok("metro_staff", "GET", path))["version"]) == version


async def test_a_reader_who_chose_french_gets_a_form_s_refusal_in_french_whatever_their_browser_says(
        client: httpx.AsyncClient, world: World) -> None:
    # No switch used in this browser, which asks for English: the person's own language decides,
    # for what the form is checked against as for the rest of the page.
    await world.ok("metro_staff", "PATCH", f"/people/{world.metro_staff.id}", json={"language": "fr"})
    client.headers["Accept-Language"] = "en"
    csrf = await sign_in(client, world.metro_staff.token)
    draft = await world.ready()
    path = f"/agreements/{draft['id']}"
    version = str((await world.ok("metro_staff", "GET", path))["version"])
    bad_day = await client.post(f"{path}/terms", data={"csrf": csrf, "version": version, "ends_on": "2027-02-31"})
    assert bad_day.status_code == 422
    read_in(Language.FR, bad_day, "2027-02-31 n’existe pas dans le calendrier", "Date de fin : ")
    no_file = await client.post(f"{path}/documents", data={"csrf": csrf, "kind": "other", "title": "Letter"})
    assert no_file.status_code == 422
    read_in(Language.FR, no_file, "Choisissez le fichier à téléverser.")

"""The engine's own sentences in the reader's language (engine/i18n.py): an agreement's history and
what stops its next step read in French and in Spanish on its page, unmarked as English; the API
answers with a `detail` in the language its request's `Accept-Language` names, and in English
without one, its machine fields (`type`, `title`, states, events) the same either way."""

from __future__ import annotations

import httpx
import pytest

from engine.statuses import Language
from tests.support import World
from tests.web.helpers import sign_in, text_of

UNMET = {
    Language.FR: ["L’accord doit compter au moins deux parties signataires ; il en a 1. Ajoutez une partie.",
                  "Ajoutez au moins un domaine de collaboration.",
                  "Metropolis n’a pas désigné de point focal."],
    Language.ES: ["El acuerdo necesita al menos dos partes firmantes; tiene 1. Añada una parte.",
                  "Añada al menos un ámbito de colaboración.",
                  "Metropolis no ha designado un punto focal."],
}
HISTORY = {
    Language.FR: ["Créé par %s", "Modification par %s", "En vigueur à partir du : 1 décembre 2026 → 1 mars 2027",
                  "Révisé tous les : 12 mois", "Partie ajoutée : Metropolis"],
    Language.ES: ["Creado por %s", "Modificación por %s",
                  "En vigor desde: 1 de diciembre de 2026 → 1 de marzo de 2027", "Revisado cada: 12 meses",
                  "Parte añadida: Metropolis"],
}


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_the_agreement_page_says_its_history_and_unmet_conditions_in_the_readers_language(
        client: httpx.AsyncClient, world: World, language: Language) -> None:
    agreement = await world.draft(parties=[{"organisation_id": world.orgs["metropolis"]}], areas=[])
    await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}", json={"effective_from": "2027-03-01"})
    await client.get(f"/language/{language}")
    await sign_in(client, world.metro_staff.token)

    page = await client.get(f"/agreements/{agreement['id']}")

    words = text_of(page.text)
    history = [line.replace("%s", world.metro_staff.name) for line in HISTORY[language]]
    for sentence in UNMET[language] + history:
        assert sentence in words, (sentence, words)
    assert "signing parties" not in words
    assert "Created by" not in words
    assert "Edit by" not in words
    assert 'lang="en"' not in page.text.partition('id="history-title"')[2]


async def test_the_api_says_detail_and_unmet_in_the_language_asked_for_and_english_otherwise(
        world: World) -> None:
    agreement = await world.draft(parties=[{"organisation_id": world.orgs["metropolis"]}])
    path = f"/agreements/{agreement['id']}/events"
    spanish = await world.call("metro_staff", "POST", path, json={"event": "submit_for_signature"},
                               headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    english = await world.call("metro_staff", "POST", path, json={"event": "submit_for_signature"})

    assert spanish.status_code == english.status_code == 422
    es, en = spanish.json(), english.json()
    assert "El acuerdo necesita al menos dos partes firmantes; tiene 1. Añada una parte." in es["unmet"]
    assert "El acuerdo necesita al menos dos partes firmantes" in es["detail"]
    assert "The agreement needs at least two signing parties; it has 1. Add a party." in en["unmet"]
    assert "needs at least two signing parties" in en["detail"]
    assert (es["type"], es["title"], es["status"]) == (en["type"], en["title"], en["status"])
    assert spanish.headers["content-language"] == "es"
    assert "content-language" not in english.headers

    history = f"/agreements/{agreement['id']}/history"
    said_es = await world.call("metro_staff", "GET", history, headers={"Accept-Language": "es"})
    said_en = await world.ok("metro_staff", "GET", history)
    assert said_es.json()["items"][0]["text"] == f"Creado por {world.metro_staff.name}"
    assert said_en["items"][0]["text"] == f"Created by {world.metro_staff.name}"
    assert said_es.json()["items"][0]["event"] == said_en["items"][0]["event"] == "create"


async def test_a_refused_event_says_its_unmet_conditions_in_the_pages_language(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.draft(parties=[{"organisation_id": world.orgs["metropolis"]}], areas=[])
    await client.get(f"/language/{Language.ES}")
    csrf = await sign_in(client, world.metro_staff.token)

    refused = await client.post(f"/agreements/{agreement['id']}/events", data={
        "csrf": csrf, "event": "submit_for_signature", "version": str(agreement["version"])})

    assert refused.status_code == 422
    problem = refused.text.partition('id="problem"')[2].partition("</section>")[0]
    words = text_of(problem)
    assert "No es posible «enviar para firma»: El acuerdo necesita al menos dos partes firmantes" in words
    for sentence in UNMET[Language.ES]:
        assert sentence in words, (sentence, words)
    assert 'lang="en"' not in problem


async def test_why_not_and_refusals_read_in_french_on_the_agreement_page(
        client: httpx.AsyncClient, world: World) -> None:
    signed = await world.signed()
    area = signed["areas"][0]
    done = await world.ok("metro_staff", "POST", f"/agreements/{signed['id']}/areas/{area['id']}/deliverables",
                          json={"title": "City profile", "owner_id": world.metro_staff.id})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})
    await client.get(f"/language/{Language.FR}")
    await sign_in(client, world.metro_staff.token)

    page = (await client.get(f"/agreements/{signed['id']}")).text

    words = text_of(page)
    assert ("L’accord est à l’état « signé » : ses conditions (dates, parties, résumé, titre) ne peuvent être "
            "modifiées qu’à l’état projet. Pour les modifier maintenant, proposez un avenant") in words, words
    row = page[page.index(f'id="deliverable-{done["id"]}"'):]
    row = text_of(row[:row.index("</li>")])
    assert ("'City profile' a été achevé le 23 novembre 2026 : le travail livré reste au dossier de l’accord, il ne "
            "peut donc pas être supprimé.") in row, row
    assert "delivered work" not in words
    assert "can be edited only" not in words


async def test_a_partner_reads_why_they_cannot_change_the_agreement_in_spanish(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    await client.get(f"/language/{Language.ES}")
    await sign_in(client, world.metro_partner.token)

    page = (await client.get(f"/agreements/{agreement['id']}")).text

    why_not = page.partition('id="areas-why-not">')[2].partition("</p>")[0]
    assert why_not == ("Puede leer este acuerdo pero no modificarlo: los cambios los hace el personal de sus partes. "
                       "Los socios pueden actualizar los entregables de los que son responsables."), why_not


async def test_the_spanish_confirmation_page_says_which_signatures_it_clears_in_spanish(
        client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.ready()
    assert (await world.fire("metro_staff", agreement["id"], "submit_for_signature")).status_code == 200
    assert (await world.fire("metro_staff", agreement["id"], "sign", place="Barcelona")).status_code == 200
    await client.get(f"/language/{Language.ES}")
    await sign_in(client, world.aspac_staff.token)

    page = (await client.get(f"/agreements/{agreement['id']}/events/withdraw")).text

    words = text_of(page)
    assert ("Se borran las firmas registradas hasta ahora: Metropolis (firmado el 23 de noviembre de 2026). "
            "Todas las partes vuelven a firmar.") in words, words
    assert "signatures recorded so far" not in words
    assert 'lang="en"' not in page.partition("<main")[2]


async def test_the_api_keeps_refusals_in_english_without_accept_language(world: World) -> None:
    signed = await world.signed()
    area = signed["areas"][0]
    done = await world.ok("metro_staff", "POST", f"/agreements/{signed['id']}/areas/{area['id']}/deliverables",
                          json={"title": "City profile", "owner_id": world.metro_staff.id})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})

    english = await world.call("metro_staff", "DELETE", f"/deliverables/{done['id']}")
    terms = await world.call("metro_staff", "PATCH", f"/agreements/{signed['id']}", json={"title": "Changed"})
    french = await world.call("metro_staff", "PATCH", f"/agreements/{signed['id']}", json={"title": "Changed"},
                              headers={"Accept-Language": "fr"})

    assert english.status_code == terms.status_code == french.status_code == 409
    assert english.json()["detail"].startswith("'City profile' was done on 23 Nov 2026: delivered work stays")
    assert terms.json()["detail"].startswith("The agreement is signed: its terms (title) can be edited only while "
                                             "it is draft. To change them now, propose an amendment")
    assert french.json()["detail"].startswith("L’accord est à l’état « signé » : ses conditions (titre)")


async def test_the_api_gives_a_workflow_s_words_in_the_language_asked_for_and_its_names_alike(world: World) -> None:
    french = await world.call("metro_staff", "GET", "/workflows/collaboration_agreement",
                              headers={"Accept-Language": "fr"})
    english = await world.ok("metro_staff", "GET", "/workflows/collaboration_agreement")
    fr = french.json()
    assert (fr["title"], english["title"]) == ("Accord de collaboration", "Collaboration agreement")
    assert fr["description"].startswith("Accord-cadre entre deux organisations ou plus")
    assert english["description"].startswith("A framework agreement between two or more organisations")
    labels = {state["name"]: state["label"] for state in fr["states"]}
    assert labels["active"] == "En vigueur"
    assert {event["name"]: event["label"] for event in fr["events"]}["submit_for_signature"] == \
        "Soumettre à la signature"
    assert [s["name"] for s in fr["states"]] == [s["name"] for s in english["states"]]
    assert [e["name"] for e in fr["events"]] == [e["name"] for e in english["events"]]

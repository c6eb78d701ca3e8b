"""The engine's refusals in the language an API request asks for (engine/i18n.py, api/languages.py):
editing an agreement, its areas and the people it names, proposing and moving amendments, and a
signature's day — each refused in French with `Accept-Language: fr`, in Spanish with `es`, and in
the same English words as ever without the header. What a client switches on (status, `type`, the
field named) is the same in every language; days, plurals and the words a sentence takes from a
table (a field's name, an amendment's kind and state) are the reader's.
"""

from __future__ import annotations

from typing import Any

import httpx

from engine.statuses import AmendmentEvent, AmendmentKind, Language
from tests.support import World


async def asked_in_each_language(world: World, who: str, method: str, path: str,
                                 **kwargs: Any) -> dict[Language, httpx.Response]:
    """The same request sent without `Accept-Language` (English), then asking for French and Spanish."""
    answers = {}
    for language in Language:
        headers = {} if language == Language.EN else {"Accept-Language": f"{language};q=0.9"}
        answers[language] = await world.call(who, method, path, headers=headers, **kwargs)
    return answers


def refusals(answers: dict[Language, httpx.Response], status: int) -> dict[Language, dict[str, Any]]:
    """Each answer's problem, after checking that only the sentences differ between languages."""
    problems = {}
    for language, answer in answers.items():
        assert answer.status_code == status, (language, answer.status_code, answer.text)
        assert answer.headers.get("content-language") == (None if language == Language.EN else language)
        problems[language] = answer.json()
    machine = {(p["type"], p["title"], p["status"], str(p.get("errors", [{}])[0].get("field")))
               for p in problems.values()}
    assert len(machine) == 1, machine
    return problems


def details(answers: dict[Language, httpx.Response], status: int) -> dict[Language, str]:
    return {language: problem["detail"] for language, problem in refusals(answers, status).items()}


async def test_an_edit_with_nothing_to_change_or_an_empty_title_is_refused_in_the_readers_language(
        world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}"

    nothing = details(await asked_in_each_language(world, "metro_staff", "PATCH", path, json={}), 422)
    empty = refusals(await asked_in_each_language(world, "metro_staff", "PATCH", path, json={"title": None}), 422)

    assert nothing == {Language.EN: "Nothing to change: send at least one field to edit.",
                       Language.FR: "Rien à modifier : envoyez au moins un champ à modifier.",
                       Language.ES: "Nada que cambiar: envíe al menos un campo que modificar."}
    assert {language: problem["detail"] for language, problem in empty.items()} == {
        Language.EN: "title cannot be empty.",
        Language.FR: "Le champ « titre » ne peut pas être vide.",
        Language.ES: "El campo «título» no puede estar vacío."}
    assert {problem["errors"][0]["field"] for problem in empty.values()} == {"title"}
    assert (await world.ok("metro_staff", "GET", path))["title"] == agreement["title"]


async def test_an_area_moved_past_the_last_counts_the_areas_in_the_readers_words(world: World) -> None:
    agreement = await world.draft()
    area = agreement["areas"][0]

    said = details(await asked_in_each_language(world, "metro_staff", "PATCH", f"/areas/{area['id']}",
                                                json={"position": 3}), 422)

    assert said == {
        Language.EN: "position must be from 0 to 0: the agreement has 1 area of collaboration.",
        Language.FR: "La position doit être comprise entre 0 et 0 : l’accord compte 1 domaine de collaboration.",
        Language.ES: "La posición debe estar entre 0 y 0: el acuerdo tiene 1 ámbito de colaboración."}


async def test_naming_someone_twice_and_withdrawing_someone_already_withdrawn_in_the_readers_language(
        world: World) -> None:
    agreement = await world.ready()
    contacts = f"/agreements/{agreement['id']}/focal-points"
    parties = (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}"))["parties"]
    focal = next(c for p in parties for c in p["focal_points"] if c["person"]["id"] == world.metro_staff.id)

    twice = details(await asked_in_each_language(world, "metro_staff", "POST", contacts, json={
        "person_id": world.metro_staff.id, "kind": "focal_point"}), 409)
    await world.ok("metro_staff", "DELETE", f"{contacts}/{focal['id']}")
    again = details(await asked_in_each_language(world, "metro_staff", "DELETE", f"{contacts}/{focal['id']}"), 404)

    name = world.metro_staff.name
    assert twice == {Language.EN: f"{name} is already named focal point for Metropolis.",
                     Language.FR: f"Metropolis a déjà désigné {name} comme point focal.",
                     Language.ES: f"Metropolis ya ha designado a {name} como punto focal."}
    number = agreement["id"]
    assert again == {
        Language.EN: f"Agreement {number} has no focal point or signatory {focal['id']}.",
        Language.FR: f"L’accord {number} n’a pas de point focal ou de signataire {focal['id']}.",
        Language.ES: f"El acuerdo {number} no tiene ningún punto focal ni signatario {focal['id']}."}


async def test_a_signature_dated_tomorrow_is_refused_with_the_day_in_the_readers_way(world: World) -> None:
    agreement = await world.ready()
    assert (await world.fire("metro_staff", agreement["id"], "submit_for_signature")).status_code == 200

    events = f"/agreements/{agreement['id']}/events"
    problems = refusals(await asked_in_each_language(world, "metro_staff", "POST", events,
                                                     json={"event": "sign", "signed_on": "2026-11-24"}), 422)

    assert {language: problem["unmet"] for language, problem in problems.items()} == {
        Language.EN: ["The day of signing, 24 Nov 2026, is in the future; record a signature on or after the day it "
                      "is made."],
        Language.FR: ["Le jour de signature, le 24 novembre 2026, est une date future ; enregistrez une signature le "
                      "jour où elle est apposée, ou après."],
        Language.ES: ["El día de la firma, 24 de noviembre de 2026, es una fecha futura; registre una firma el día en "
                      "que se realiza, o después."]}
    after = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert all(p["signature"] is None for p in after["parties"])


async def test_amendment_refusals_in_the_readers_language(world: World) -> None:
    agreement = await world.signed()
    amendments = f"/agreements/{agreement['id']}/amendments"

    mixed = details(await asked_in_each_language(world, "metro_staff", "POST", amendments, json={
        "kind": AmendmentKind.TERMS, "reason": "Mixed up.", "changes": {"ends_on": "2030-01-01", "title": "New"}}),
        422)
    same = details(await asked_in_each_language(world, "metro_staff", "POST", amendments, json={
        "kind": AmendmentKind.TERMS, "reason": "Nothing.", "changes": {"effective_from": agreement["effective_from"]}}),
        422)
    await world.ok("metro_staff", "POST", amendments, json={
        "kind": AmendmentKind.TERMS, "reason": "Agreed at the joint meeting.", "changes": {"ends_on": "2030-01-01"}})
    events = f"{amendments}/1/events"
    not_yet = details(await asked_in_each_language(world, "metro_staff", "POST", events,
                                                   json={"event": AmendmentEvent.WITHDRAW}), 409)
    await world.ok("metro_staff", "POST", events, json={"event": AmendmentEvent.SUBMIT})
    await world.ok("metro_staff", "POST", events, json={"event": AmendmentEvent.SIGN})
    twice = details(await asked_in_each_language(world, "metro_staff", "POST", events,
                                                 json={"event": AmendmentEvent.SIGN}), 409)

    terms = "effective_from, ends_on, next_review_on, notice_period_days, review_every_months, summary"
    assert mixed == {
        Language.EN: f"A terms amendment changes {terms}, not title (title: administrative): propose a separate "
                     "amendment of that kind.",
        Language.FR: f"Un avenant de type « conditions » modifie {terms}, et non title (title: administrative) : "
                     "proposez un avenant distinct de ce type.",
        Language.ES: f"Una enmienda de tipo «condiciones» modifica {terms}, no title (title: administrative): "
                     "proponga una enmienda aparte de ese tipo."}
    assert same == {Language.EN: "These changes change nothing: the agreement already says so.",
                    Language.FR: "Ces modifications ne changent rien : l’accord le prévoit déjà.",
                    Language.ES: "Estos cambios no cambian nada: el acuerdo ya lo establece."}
    assert not_yet == {
        Language.EN: "Amendment 1 is draft: 'withdraw' is not allowed now. Events allowed now: submit, cancel.",
        Language.FR: "L’avenant n° 1 est à l’état « projet » : « withdraw » n’est pas possible maintenant. Possibles "
                     "maintenant : submit, cancel.",
        Language.ES: "La enmienda n.º 1 está en estado «borrador»: «withdraw» no es posible ahora. Posibles ahora: "
                     "submit, cancel."}
    assert twice == {Language.EN: "Metropolis has already signed amendment 1.",
                     Language.FR: "Metropolis a déjà signé l’avenant n° 1.",
                     Language.ES: "Metropolis ya ha firmado la enmienda n.º 1."}
    amendment = await world.ok("metro_staff", "GET", f"{amendments}/1")
    assert [s["organisation_id"] for s in amendment["signatures"]] == [world.orgs["metropolis"]]


async def test_what_cannot_be_seen_is_not_found_in_the_readers_language(world: World) -> None:
    agreement = await world.draft()

    unseen = details(await asked_in_each_language(world, "amf_staff", "GET", f"/agreements/{agreement['id']}"), 404)

    assert unseen == {Language.EN: f"There is no agreement {agreement['id']} that you can see.",
                      Language.FR: f"Il n’y a pas d’accord {agreement['id']} que vous puissiez consulter.",
                      Language.ES: f"No hay ningún acuerdo {agreement['id']} que usted pueda consultar."}

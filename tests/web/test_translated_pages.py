"""Every page reads in French and in Spanish: walked in each language, no page shows a sentence of
the English catalog (a string left unwrapped in a template, or a translation missing), and each
says its language in `<html lang>` (engine/i18n.py; the catalogs' completeness: tests/test_translations.py).
The workflow files' state and event labels are in the catalog (and checked), and so are the
engine's own sentences an agreement's page shows (history lines, unmet conditions, refusals in place
of a button, consequences): nothing on a page is marked as written in English (`lang="en"`, the
`marked` filter) but the language switch's own link to English. What comes back after a refused
form: tests/web/test_translated_refusals.py."""

from __future__ import annotations

import re

import httpx
import pytest
from babel.messages.pofile import read_po

from engine import i18n
from engine.demo.signed_copy import signed_copy
from engine.statuses import DocumentKind, Language
from tests.support import World
from tests.web.helpers import sign_in, text_of

_PLACEHOLDER = re.compile(r"%\(\w+\)s|<[^>]+>")


def english_sentences(language: Language) -> set[str]:
    """The English of the catalog, each run of three words or more between placeholders and tags,
    less what `language` writes the same way."""
    with (i18n.LOCALES / f"{language}/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    found = set()
    for message in catalog:
        if not message.id:
            continue
        english = [message.id] if isinstance(message.id, str) else list(message.id)
        translated = " ".join([message.string] if isinstance(message.string, str) else list(message.string or ()))
        for text in english:
            for piece in _PLACEHOLDER.split(text):
                piece = piece.strip(" .,;:()")
                if len(piece.split()) >= 3 and piece not in translated:
                    found.add(piece)
    return found


async def pages(world: World) -> list[str]:
    """One address of each kind of page an administrator reaches: an agreement in draft with its
    people, an area and a deliverable, its confirmation page for cancelling, the lists and forms,
    an organisation's page, a signed agreement with a document, a withdrawn one and an amendment
    awaiting a signature, and the successor drafted from it."""
    agreement = await world.ready()
    area = agreement["areas"][0]["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "Toolkit", "owner_id": world.metro_staff.id, "due_on": "2027-03-01"})
    signed = (await world.signed(ends_on="2029-12-01"))["id"]
    for title in ("Signed copy", "Draft letter"):
        await world.ok("metro_staff", "POST", f"/agreements/{signed}/documents",
                       files={"file": ("copy.pdf", signed_copy("Collaboration agreement", [title]), "application/pdf")},
                       data={"kind": DocumentKind.SIGNED_AGREEMENT, "title": title})
    withdrawn = (await world.ok("admin", "GET", f"/agreements/{signed}/documents"))["items"][-1]["id"]
    await world.ok("admin", "POST", f"/documents/{withdrawn}/withdraw", json={"reason": "The wrong file."})
    await world.ok("metro_staff", "POST", f"/agreements/{signed}/amendments", json={
        "kind": "terms", "reason": "Two more years.", "changes": {"ends_on": "2031-12-01"}})
    for event in ("submit", "sign"):
        await world.ok("metro_staff", "POST", f"/agreements/{signed}/amendments/1/events", json={"event": event})
    successor = await world.ok("metro_staff", "POST", f"/agreements/{signed}/copies",
                               json={"title": "Cooperation, renewed", "predecessor_id": signed})
    return [f"/agreements/{agreement['id']}", f"/agreements/{agreement['id']}/events/cancel", "/agreements",
            "/agreements?q=nothing-matches", "/agreements/new", "/overview", "/people",
            f"/people/{world.aspac_partner.id}", f"/people/{world.aspac_partner.id}/edit", "/people/new",
            "/organisations", f"/organisations/{world.orgs['aspac']}", f"/agreements/{signed}",
            f"/agreements/{successor['id']}?changed=successor", f"/agreements/{signed}/events/terminate",
            "/agreements/999999"]


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_every_page_reads_in_the_chosen_language(client: httpx.AsyncClient, world: World,
                                                       language: Language) -> None:
    english = english_sentences(language)
    assert len(english) > 50  # the catalog was read
    signed_out = ["/sign-in", "/sign-in/link/acc_link_not_a_real_one"]
    await client.get(f"/language/{language}")
    walked = await pages(world)
    pages_of_agreement, signed = walked[0], walked[12]
    for path in signed_out + ["(sign in)"] + walked:
        if path == "(sign in)":
            await sign_in(client, world.admin.token)
            continue
        page = await client.get(path)
        assert page.status_code in (200, 404, 410), (path, page.status_code)
        assert f'<html lang="{language}">' in page.text, path
        assert page.headers["content-language"] == language, path
        words = text_of(page.text)
        marked = re.findall(r'<span lang="en">(.*?)</span>', page.text, re.S)
        assert not marked, f"{path} in {language} still says, in English: {marked}"
        if path == pages_of_agreement:  # the workflow file's words: its state, its events
            draft, submit = {Language.FR: ("Projet", "Soumettre à la signature"),
                             Language.ES: ("Borrador", "Enviar para firma")}[language]
            assert f'<span class="badge big state-draft">{draft}</span>' in page.text
            assert f">{submit}</h3>" in page.text
            lifecycle = {Language.FR: "Cycle de vie (accord de collaboration) ; état actuel : Projet",
                         Language.ES: "Ciclo de vida (acuerdo de colaboración); estado actual: Borrador"}[language]
            assert f">{lifecycle}</title>" in page.text  # the diagram's own title, and its boxes' labels
            assert f">{draft} (" in page.text
            area = "Capacity building and gender mainstreaming"
            history_says = {Language.FR: [f"Domaine de collaboration « {area} » ajouté",
                                          "Signataire de UCLG ASPAC désigné"],
                            Language.ES: [f"Ámbito de colaboración «{area}» añadido",
                                          "Signatario de UCLG ASPAC designado"]}[language]
            for sentence in history_says:
                assert sentence in words, (sentence, words)
        if path == signed:  # its documents and its amendment, their days in the reader's words
            said = {Language.FR: ["Accord signé Signed copy", "Retiré le 23 novembre 2026 : « The wrong file. »",
                                  "Avenant n° 1 · conditions en attente de signature", "Signé par Agnès Bickart",
                                  "En attente de : UCLG ASPAC.", "Suivi de accord n°"],
                    Language.ES: ["Acuerdo firmado Signed copy",
                                  "Retirado el 23 de noviembre de 2026: «The wrong file.»",
                                  "Enmienda n.º 1 · condiciones pendiente de firma", "Firmada por Agnès Bickart",
                                  "Pendiente de: UCLG ASPAC.", "Seguido de acuerdo n.º"]}[language]
            for sentence in said:
                assert sentence in words, (sentence, words)
        if page.status_code == 404:  # the error page's title too
            assert {Language.FR: "Introuvable (404)", Language.ES: "No encontrado (404)"}[language] in words
        left = sorted(sentence for sentence in english if sentence in words)
        assert not left, f"{path} in {language} still says, in English: {left}"

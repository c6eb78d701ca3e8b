"""Every page reads in French and in Spanish: walked in each language, no page shows a sentence of
the English catalog (a string left unwrapped in a template, or a translation missing), and each
says its language in `<html lang>` (engine/i18n.py; the catalogs' completeness: tests/test_translations.py).
The workflow files' state and event labels are in the catalog (and checked); the engine's own
sentences (unmet conditions, consequences, history lines) are not yet, so they are not checked here."""

from __future__ import annotations

import re

import httpx
import pytest
from babel.messages.pofile import read_po

from engine import i18n
from engine.statuses import Language
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
    people, an area and a deliverable, its confirmation page for cancelling, the lists and forms."""
    agreement = await world.ready()
    area = agreement["areas"][0]["id"]
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "Toolkit", "owner_id": world.metro_staff.id, "due_on": "2027-03-01"})
    return [f"/agreements/{agreement['id']}", f"/agreements/{agreement['id']}/events/cancel", "/agreements",
            "/agreements?q=nothing-matches", "/agreements/new", "/overview", "/people",
            f"/people/{world.aspac_partner.id}", f"/people/{world.aspac_partner.id}/edit", "/people/new",
            "/organisations", "/agreements/999999"]


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_every_page_reads_in_the_chosen_language(client: httpx.AsyncClient, world: World,
                                                       language: Language) -> None:
    english = english_sentences(language)
    assert len(english) > 50  # the catalog was read
    signed_out = ["/sign-in", "/sign-in/link/acc_link_not_a_real_one"]
    await client.get(f"/language/{language}")
    walked = await pages(world)
    pages_of_agreement = walked[0]
    for path in signed_out + ["(sign in)"] + walked:
        if path == "(sign in)":
            await sign_in(client, world.admin.token)
            continue
        page = await client.get(path)
        assert page.status_code in (200, 404, 410), (path, page.status_code)
        assert f'<html lang="{language}">' in page.text, path
        words = text_of(page.text)
        if path == pages_of_agreement:  # the workflow file's words: its state, its events
            draft, submit = {Language.FR: ("Projet", "Soumettre à la signature"),
                             Language.ES: ("Borrador", "Enviar para firma")}[language]
            assert f'<span class="badge big state-draft">{draft}</span>' in page.text
            assert f">{submit}</h3>" in page.text
            lifecycle = {Language.FR: "Cycle de vie (accord de collaboration) ; état actuel : Projet",
                         Language.ES: "Ciclo de vida (acuerdo de colaboración); estado actual: Borrador"}[language]
            assert f">{lifecycle}</title>" in page.text  # the diagram's own title, and its boxes' labels
            assert f">{draft} (" in page.text
        if page.status_code == 404:  # the error page's title too
            assert {Language.FR: "Introuvable (404)", Language.ES: "No encontrado (404)"}[language] in words
        left = sorted(sentence for sentence in english if sentence in words)
        assert not left, f"{path} in {language} still says, in English: {left}"

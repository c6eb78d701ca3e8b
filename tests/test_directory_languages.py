"""The directory's and the documents' own sentences in the reader's language (engine/i18n.py): an
API request that sends `Accept-Language: fr` or `es` is refused in French or Spanish — a staff member
changing another organisation's person, an email someone already has, an organisation that does not
exist, a document too large or of a type Accord does not keep (its size in the reader's words, 8 Ko) —
and what disabling someone leaves undone is said in it too; without the header, the same refusals in
English, their machine fields (`type`, `status`, `title`) the same in every language. On the pages, in
French, the people page says what a disabled person leaves undone in French and the agreement page
gives a document's size in French."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar

from engine.demo.signed_copy import signed_copy
from engine.settings import Settings
from engine.statuses import DocumentKind, Language
from tests.support import World
from tests.web.helpers import sign_in, text_of

LIMIT = 8192  # the largest document these tests allow: 8 KB
PDF = signed_copy("Collaboration agreement", ["Signed in Montevideo on 6 April 2019."])
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"document_max_bytes": LIMIT})


def _asking(language: Language | None) -> dict[str, str]:
    return {"Accept-Language": language} if language else {}


async def _refusals(world: World, language: Language | None) -> dict[str, httpx.Response]:
    """The refusals of the directory and the documents, asked for in `language` (None: no header)."""
    headers = _asking(language)
    agreement = await world.draft()  # Metropolis and UCLG ASPAC share it: their staff see each other
    someone = {"organisation_id": world.orgs["metropolis"], "name": "New officer", "role": "staff"}

    async def upload(content: bytes, filename: str) -> httpx.Response:
        return await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/documents",
                                files={"file": (filename, content, "application/octet-stream")},
                                data={"kind": DocumentKind.OTHER}, headers=headers)

    return {
        "other organisation": await world.call("metro_staff", "PATCH", f"/people/{world.aspac_partner.id}",
                                               json={"job_title": "Officer"}, headers=headers),
        "same email": await world.call("admin", "POST", "/people", headers=headers,
                                       json={**someone, "email": "metro_staff@metropolis.example"}),
        "no organisation": await world.call("admin", "POST", "/people", headers=headers,
                                            json={**someone, "organisation_id": 999999,
                                                  "email": "new@metropolis.example"}),
        "no such organisation": await world.call("admin", "GET", "/organisations/999999", headers=headers),
        "too large": await upload(PDF + b"%" * LIMIT, "copy.pdf"),
        "wrong type": await upload(EXECUTABLE, "signed.exe"),
        "not what its name says": await upload(EXECUTABLE, "signed.pdf"),
    }


SAID = {
    None: {
        "other organisation": "Only an administrator, or staff of UCLG ASPAC, can change UCLG ASPAC programme "
                              "officer.",
        "same email": "Someone with the email metro_staff@metropolis.example already exists.",
        "no organisation": "There is no organisation 999999; create it first.",
        "no such organisation": "There is no organisation 999999.",
        "too large": "“copy.pdf” is larger than 8 KB, the most a document may be. Upload a smaller file",
        "wrong type": "“signed.exe” is not a type of document Accord keeps. Upload one of: PDF (.pdf), PNG image "
                      "(.png), JPEG image (.jpg), Word document (DOCX) (.docx)",
        "not what its name says": "“signed.pdf” is named as a PDF, but its content is a application/x-msdownload "
                                  "file.",
    },
    Language.FR: {
        "other organisation": "Seuls un administrateur ou le personnel de UCLG ASPAC peuvent modifier le compte de "
                              "UCLG ASPAC programme officer.",
        "same email": "Une personne avec l’adresse électronique metro_staff@metropolis.example existe déjà.",
        "no organisation": "Il n’y a pas d’organisation 999999 ; créez-la d’abord.",
        "no such organisation": "Il n’y a pas d’organisation 999999.",
        "too large": "« copy.pdf » dépasse 8 Ko, la taille maximale d’un document. Téléversez un fichier plus léger",
        "wrong type": "« signed.exe » n’est pas un type de document qu’Accord conserve. Téléversez l’un de ces "
                      "formats : PDF (.pdf), image PNG (.png), image JPEG (.jpg), document Word (DOCX) (.docx)",
        "not what its name says": "Le nom de « signed.pdf » annonce un fichier de type PDF, mais son contenu est un "
                                  "fichier de type application/x-msdownload.",
    },
    Language.ES: {
        "other organisation": "Solo un administrador o el personal de UCLG ASPAC puede modificar la cuenta de UCLG "
                              "ASPAC programme officer.",
        "same email": "Ya existe una persona con el correo electrónico metro_staff@metropolis.example.",
        "no organisation": "No hay ninguna organización 999999; créela primero.",
        "no such organisation": "No hay ninguna organización 999999.",
        "too large": "«copy.pdf» supera 8 KB, el tamaño máximo de un documento. Suba un archivo más pequeño",
        "wrong type": "«signed.exe» no es un tipo de documento que Accord conserve. Suba uno de estos formatos: PDF "
                      "(.pdf), imagen PNG (.png), imagen JPEG (.jpg), documento de Word (DOCX) (.docx)",
        "not what its name says": "El nombre de «signed.pdf» indica un archivo de tipo PDF, pero su contenido es un "
                                  "archivo de tipo application/x-msdownload.",
    },
}
STATUSES = {"other organisation": 403, "same email": 409, "no organisation": 422, "no such organisation": 404,
            "too large": 413, "wrong type": 415, "not what its name says": 415}


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_the_directorys_and_the_documents_refusals_come_in_the_language_asked_for(
        world: World, language: Language) -> None:
    asked = await _refusals(world, language)
    plain = await _refusals(world, None)

    for case, status in STATUSES.items():
        translated, english = asked[case], plain[case]
        assert translated.status_code == english.status_code == status, (case, translated.text, english.text)
        said, said_en = translated.json(), english.json()
        assert SAID[language][case] in said["detail"], (case, said["detail"])
        assert SAID[None][case] in said_en["detail"], (case, said_en["detail"])
        assert (said["type"], said["title"]) == (said_en["type"], said_en["title"]), case  # machine fields
        assert translated.headers["content-language"] == language
        assert "content-language" not in english.headers


async def test_what_a_disabled_person_leaves_undone_is_said_in_the_language_asked_for(world: World) -> None:
    agreement = await world.ready()
    disable = {"active": False}
    spanish = await world.call("admin", "PATCH", f"/people/{world.metro_staff.id}", json=disable,
                               headers={"Accept-Language": "es"})
    assert spanish.status_code == 200, spanish.text
    [warning] = spanish.json()["warnings"]
    assert warning["kind"] == "only_focal_point"  # a machine field, the same in every language
    assert warning["detail"] == (
        f"{world.metro_staff.name} era el único punto focal activo de Metropolis para «{agreement['title']}» "
        f"(acuerdo {agreement['id']}); Metropolis debe designar otro punto focal.")

    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"active": True})
    english = await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json=disable)
    assert english["warnings"][0]["detail"].startswith(
        f"{world.metro_staff.name} was the only active focal point of Metropolis for “{agreement['title']}”")


async def test_who_may_issue_tokens_and_see_them_is_said_in_french(world: World) -> None:
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    issue = await world.call("metro_staff", "POST", f"/people/{world.admin.id}/tokens", headers=french)
    others = await world.call("metro_partner", "GET", f"/people/{world.metro_staff.id}/tokens", headers=french)
    unknown = await world.call("metro_staff", "GET", "/people/999999/tokens", headers=french)
    outsider = await world.call("metro_staff", "GET", "/agreements/999999", headers=french)

    # Staff do not see the secretariat's administrator: out of sight is not found, in French.
    assert (issue.status_code, issue.json()["detail"]) == (
        404, f"Il n’y a pas de personne {world.admin.id} que vous puissiez consulter.")
    assert (others.status_code, others.json()["detail"]) == (
        403, f"Seuls un administrateur ou le personnel de Metropolis peuvent voir les jetons de "
             f"{world.metro_staff.name}. {world.metro_staff.name} peut voir les siens.")
    assert unknown.json()["detail"] == "Il n’y a pas de personne 999999 que vous puissiez consulter."
    assert outsider.status_code == 404


async def test_a_missing_or_wrong_token_and_a_page_too_long_are_refused_in_spanish(world: World) -> None:
    spanish = {"Accept-Language": "es"}
    nobody = await world.client.get("/api/v1/agreements", headers=spanish)
    too_long = await world.call("admin", "GET", "/people?limit=100000", headers=spanish)

    assert nobody.status_code == 401
    assert nobody.json()["detail"].startswith("Envíe un token de acceso válido: 'Authorization: Bearer <token>'.")
    assert too_long.status_code == 422
    assert "limit no puede superar" in too_long.json()["detail"]


async def test_a_french_readers_feed_says_its_dates_in_french_and_a_revoked_one_is_refused_in_french(
        world: World) -> None:
    agreement = await world.ready(next_review_on="2027-12-01")
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"language": "fr"})
    feed = await world.ok("metro_staff", "POST", "/feeds", json=None)
    served = await world.client.get(urlsplit(feed["url"]).path)
    [review] = [e for e in Calendar.from_ical(served.content).walk("VEVENT") if str(e["UID"]).startswith("review-")]
    assert str(review["SUMMARY"]) == f"Révision à mener : {agreement['title']}"
    assert f"Accord : {agreement['title']} (projet)" in str(review["DESCRIPTION"])  # its state as its workflow says it

    await world.ok("metro_staff", "DELETE", f"/feeds/{feed['id']}")
    again = await world.call("metro_staff", "DELETE", f"/feeds/{feed['id']}", headers={"Accept-Language": "fr"})
    assert again.status_code == 404
    assert again.json()["detail"] == (f"Vous n’avez aucun flux de calendrier {feed['id']} ; GET /api/v1/feeds liste "
                                      "les vôtres.")


async def test_a_webhook_is_refused_in_spanish_by_who_may_and_where_it_goes(world: World) -> None:
    spanish = {"Accept-Language": "es"}
    hook = {"url": "http://[::ffff:127.0.0.1]/hooks", "secret": "s3cret-for-the-receiver",
            "events": ["agreement.state_changed"]}
    staff = await world.call("metro_staff", "POST", "/webhooks", json=hook, headers=spanish)
    private = await world.call("admin", "POST", "/webhooks", json=hook, headers=spanish)

    assert (staff.status_code, staff.json()["detail"]) == (
        403, "Solo un administrador puede crear suscripciones de webhook.")
    assert private.status_code == 422
    assert private.json()["detail"] == (
        "::ffff:7f00:1 contiene la dirección IPv4 127.0.0.1, una dirección de bucle local (loopback); los "
        "webhooks solo se envían a direcciones públicas (defina ACCORD_WEBHOOK_ALLOW_PRIVATE=true para permitir las "
        "privadas, en desarrollo).")


async def _disabled_on_the_people_page(client: httpx.AsyncClient, world: World, language: Language) -> str:
    await world.ready()
    await client.get(f"/language/{language}")
    csrf = await sign_in(client, world.admin.token)
    done = await client.post(f"/people/{world.metro_staff.id}/active", data={"csrf": csrf, "active": "false"})
    assert done.status_code == 200
    return done.text


async def test_the_people_page_says_in_french_what_a_disabled_person_leaves_undone(
        client: httpx.AsyncClient, world: World) -> None:
    page = await _disabled_on_the_people_page(client, world, Language.FR)

    words = text_of(page)
    assert f"Compte de {world.metro_staff.name} désactivé." in words
    assert (f"{world.metro_staff.name} était l’unique point focal actif de Metropolis pour « Collaboration "
            "agreement between Metropolis and UCLG ASPAC »") in words, words
    assert "only active focal point" not in words
    assert 'lang="en"' not in page.partition('role="status"')[2].partition("</div>")[0]


async def test_the_agreement_page_gives_a_documents_size_in_french(client: httpx.AsyncClient, world: World) -> None:
    agreement = await world.draft()
    content = PDF + b"%" * (5632 - len(PDF))  # 5.5 KB
    uploaded: dict[str, Any] = await world.ok(
        "metro_staff", "POST", f"/agreements/{agreement['id']}/documents",
        files={"file": ("copy.pdf", content, "application/octet-stream")}, data={"kind": DocumentKind.OTHER})
    await client.get(f"/language/{Language.FR}")
    await sign_in(client, world.metro_staff.token)

    page = await client.get(f"/agreements/{agreement['id']}")

    row = page.text[page.text.index(f'id="document-{uploaded["id"]}"'):]
    row = text_of(row[:row.index("</tr>")])
    assert "5,5 Ko" in row, row
    assert " KB" not in row

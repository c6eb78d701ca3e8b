"""What is wrong with a field, in the reader's language (engine/validation_words.py, engine/schemas.py):
the API's problem+json says each field's refusal in the language its request's Accept-Language names
(`detail` and `errors`), and exactly as before without it, pydantic's English words included; field
names are never translated. The pages say it in the page's language, beside the field or on the
page that refuses a bad address."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

import httpx
import pytest
from pydantic import Field, StrictBool, StringConstraints, TypeAdapter, ValidationError

from engine import i18n, schemas
from engine.statuses import Language
from engine.validation_words import describe
from tests.support import World
from tests.web.helpers import sign_in, text_of
from tests.web.test_people_pages import field_problem

TOO_LONG = "T" * 301
# A title too long and a day that does not exist; an organisation without a name, in a zone that does not exist.
AGREEMENT = {"title": TOO_LONG, "effective_from": "2026-02-30"}
ORGANISATION = {"kind": "network", "timezone": "Mars/Olympus"}

SAID: dict[Language | None, dict[str, dict[str, str]]] = {
    None: {
        "agreement": {"title": "String should have at most 300 characters",
                      "effective_from": "2026-02-30 is not a day of the calendar; use YYYY-MM-DD, such as 2026-12-01"},
        "organisation": {"name": "Field required",
                         "timezone": "unknown time zone 'Mars/Olympus'; use an IANA name such as 'Europe/Madrid' "
                                     "or 'Asia/Tehran'"},
    },
    Language.FR: {
        "agreement": {"title": "Le texte doit compter au plus 300 caractères",
                      "effective_from": "2026-02-30 n’existe pas dans le calendrier ; écrivez la date AAAA-MM-JJ, "
                                        "par exemple 2026-12-01"},
        "organisation": {"name": "Champ obligatoire",
                         "timezone": "fuseau horaire inconnu : 'Mars/Olympus' ; utilisez un nom IANA tel que "
                                     "'Europe/Madrid' ou 'Asia/Tehran'"},
    },
    Language.ES: {
        "agreement": {"title": "El texto debe tener como máximo 300 caracteres",
                      "effective_from": "2026-02-30 no existe en el calendario; escriba la fecha como AAAA-MM-DD, "
                                        "por ejemplo 2026-12-01"},
        "organisation": {"name": "Campo obligatorio",
                         "timezone": "zona horaria desconocida: 'Mars/Olympus'; use un nombre IANA como "
                                     "'Europe/Madrid' o 'Asia/Tehran'"},
    },
}
FIX = {None: "Fix these fields and send again: ", Language.FR: "Corrigez ces champs et renvoyez : ",
       Language.ES: "Corrija estos campos y vuelva a enviar: "}


async def refused(world: World, who: str, path: str, body: dict[str, Any], language: Language | None) -> Any:
    headers = {"Accept-Language": language} if language else {}
    answer = await world.call(who, "POST", path, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.json()


@pytest.mark.parametrize("language", [None, Language.FR, Language.ES])
async def test_the_api_says_what_is_wrong_with_each_field_in_the_language_asked_for(
        world: World, language: Language | None) -> None:
    parties = [{"organisation_id": world.orgs["metropolis"]}, {"organisation_id": world.orgs["aspac"]}]
    agreement = await refused(world, "metro_staff", "/agreements", {**AGREEMENT, "parties": parties}, language)
    organisation = await refused(world, "admin", "/organisations", ORGANISATION, language)

    for body, expected in ((agreement, SAID[language]["agreement"]), (organisation, SAID[language]["organisation"])):
        assert {e["field"]: e["message"] for e in body["errors"]} == expected
        assert body["detail"].startswith(FIX[language])
        for field, message in expected.items():
            assert f"{field}: {message}" in body["detail"]
        # What a program switches on is the same in every language.
        assert (body["type"], body["title"], body["status"]) == (
            "https://accord.example/problems/invalid-input", "Invalid input", 422)
    assert (await world.ok("admin", "GET", "/agreements"))["total"] == 0


async def test_a_field_the_input_does_not_have_and_a_value_not_offered(world: World) -> None:
    said = {}
    for language in (None, Language.FR, Language.ES):
        body = await refused(world, "admin", "/organisations",
                             {"name": "Cités Unies", "kind": "castle", "timezon": "UTC"}, language)
        said[language] = {e["field"]: e["message"] for e in body["errors"]}
    assert said[None] == {"kind": "Input should be 'network', 'association', 'local_government', 'secretariat' "
                                  "or 'other'",
                          "timezon": "unknown field; remove it or check its spelling"}
    assert said[Language.FR] == {"kind": "Valeur attendue : 'network', 'association', 'local_government', "
                                         "'secretariat' ou 'other'",
                                 "timezon": "champ inconnu ; supprimez-le ou vérifiez son orthographe"}
    assert said[Language.ES] == {"kind": "Valor esperado: 'network', 'association', 'local_government', "
                                         "'secretariat' o 'other'",
                                 "timezon": "campo desconocido; elimínelo o revise cómo está escrito"}


PAGE_REFUSAL = {
    Language.FR: ("Saisie non valide", "Une partie de ce qui a été envoyé n’est pas valide : "
                                       "page: La valeur doit être supérieure ou égale à 1."),
    Language.ES: ("Datos no válidos", "Parte de lo enviado no es válido: page: El valor debe ser mayor o igual que 1."),
}


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_a_page_asked_for_with_a_bad_value_says_so_in_the_pages_language(
        client: httpx.AsyncClient, world: World, language: Language) -> None:
    await client.get(f"/language/{language}")
    await sign_in(client, world.admin.token)

    page = await client.get("/organisations", params={"page": "0"})

    assert page.status_code == 422
    title, sentence = PAGE_REFUSAL[language]
    words = text_of(page.text)
    assert f"{title} (422)" in words
    assert sentence in words, words
    assert 'lang="en"' not in page.text.partition("<main")[2]


async def test_a_page_in_english_says_pydantics_words_as_before(client: httpx.AsyncClient, world: World) -> None:
    csrf = await sign_in(client, world.admin.token)
    page = await client.get("/organisations", params={"page": "0"})
    assert "Some of what was sent is not valid: page: Input should be greater than or equal to 1." in text_of(page.text)

    bad = await client.post("/organisations", data={"csrf": csrf, "kind": "network", "timezone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert field_problem(bad.text, "name") == "Field required."
    assert field_problem(bad.text, "timezone") == ("Unknown time zone 'Mars/Olympus'; use an IANA name such as "
                                                   "'Europe/Madrid' or 'Asia/Tehran'.")


BESIDE = {
    Language.FR: {"name": "Le texte doit compter au moins 1 caractère.",
                  "timezone": "Fuseau horaire inconnu : 'Mars/Olympus' ; utilisez un nom IANA tel que 'Europe/Madrid' "
                              "ou 'Asia/Tehran'."},
    Language.ES: {"name": "El texto debe tener al menos 1 carácter.",
                  "timezone": "Zona horaria desconocida: 'Mars/Olympus'; use un nombre IANA como 'Europe/Madrid' o "
                              "'Asia/Tehran'."},
}


@pytest.mark.parametrize("language", [Language.FR, Language.ES])
async def test_a_form_says_beside_each_field_what_is_wrong_in_the_pages_language(
        client: httpx.AsyncClient, world: World, language: Language) -> None:
    await client.get(f"/language/{language}")
    csrf = await sign_in(client, world.metro_staff.token)
    path = f"/organisations/{world.orgs['metropolis']}"

    bad = await client.post(path, data={"csrf": csrf, "name": "", "kind": "network", "timezone": "Mars/Olympus"})

    assert bad.status_code == 422
    for field, sentence in BESIDE[language].items():
        assert field_problem(bad.text, field) == sentence
    assert (await world.ok("admin", "GET", path))["timezone"] == "Europe/Madrid"


# One refusal of each kind of pydantic's that an input of Accord's can meet, from the types that meet it.
KINDS: list[tuple[Any, Any, str]] = [
    (Annotated[int, Field(ge=1)], 0, "greater_than_equal"),
    (Annotated[int, Field(gt=1)], 0, "greater_than"),
    (Annotated[int, Field(le=1234)], 5000, "less_than_equal"),
    (Annotated[int, Field(lt=1)], 5, "less_than"),
    (int, "twelve", "int_parsing"),
    (int, 1.5, "int_from_float"),
    (int, None, "int_type"),
    (str, 5, "string_type"),
    (Annotated[str, StringConstraints(min_length=1)], "", "string_too_short"),
    (Annotated[str, StringConstraints(max_length=1234)], "x" * 1235, "string_too_long"),
    (Annotated[str, StringConstraints(pattern=r"^[a-z_]+$")], "Sign!", "string_pattern_mismatch"),
    (StrictBool, "yes", "bool_type"),
    (bool, "maybe", "bool_parsing"),
    (Literal["planned", "done"], "late", "literal_error"),
    (Language, "de", "enum"),
    (list[int], "1, 2", "list_type"),
    (Annotated[list[int], Field(max_length=2)], [1, 2, 3], "too_long"),
    (Annotated[list[int], Field(min_length=1)], [], "too_short"),
    (schemas.PartyInput, "Metropolis", "model_type"),
    (dict[str, int], "a=1", "dict_type"),
    (date, "next spring", "date_from_datetime_parsing"),
    (schemas.HttpUrl, "not a web address", "url_parsing"),
    (schemas.HttpUrl, "ftp://files.example.org/", "url_scheme"),
    (schemas.HttpUrl, "https://example.org/" + "a" * 2000, "url_too_long"),
    (schemas.PartyInput, {}, "missing"),
]


@pytest.mark.parametrize(("annotation", "value", "kind"), KINDS, ids=[kind for _, _, kind in KINDS])
def test_each_kind_of_pydantic_refusal_reads_in_french_and_spanish_and_as_pydantic_in_english(
        annotation: Any, value: Any, kind: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(annotation).validate_python(value)
    error = refused.value.errors()[0]
    assert error["type"] == kind

    assert describe(error) == error["msg"]  # English: pydantic's own words
    for language in (Language.FR, Language.ES):
        with i18n.reading(language):
            said = describe(error)
        assert said
        assert said != error["msg"]
        assert not re.search(r"\b(should|Input|String|List)\b", said), (language, said)
    if kind in ("string_too_long", "less_than_equal"):
        with i18n.reading(Language.FR):
            assert "1\u202f234" in describe(error)  # numbers as the reader writes them

"""The catalogs (engine/locales, engine/i18n.py) are complete and current: every string marked in
the code and templates is in the template `messages.pot`, and every French and Spanish catalog
translates each of them, none fuzzy (`make messages` merges new strings in; a translator fills them)."""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from engine import i18n, words
from engine.statuses import AmendmentState, DeliverableStatus, Language

ROOT = i18n.LOCALES.parent.parent
TRANSLATED = [language for language in Language if language != i18n.SOURCE]


def catalog(language: Language | None) -> Catalog:
    path = i18n.LOCALES / (f"{language}/LC_MESSAGES/messages.po" if language else "messages.pot")
    with path.open("rb") as source:
        return read_po(source, locale=language)


def message_ids(found: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in found if m.id}


def test_the_template_holds_every_string_marked_in_the_code() -> None:
    with (ROOT / "babel.cfg").open() as config:
        methods, options = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    marked = {message if isinstance(message, str) else tuple(message) for _, _, message, _, _ in
              extract_from_dir(str(ROOT), methods, options,
                                               keywords={**DEFAULT_KEYWORDS, "NP_": ((1, "c"), 2)})}
    assert marked == message_ids(catalog(None)), "run `make messages` and translate what it adds"


def test_french_and_spanish_translate_every_string_and_none_is_fuzzy() -> None:
    expected = message_ids(catalog(None))
    for language in TRANSLATED:
        found = catalog(language)
        assert message_ids(found) == expected, f"{language}: run `make messages`"
        untranslated = [m.id for m in found if m.id and (
            m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))]
        assert not untranslated, f"{language} leaves these untranslated or fuzzy: {untranslated}"
        # Each placeholder of the English is in the translation, so none is lost or misspelt.
        for m in found:
            if m.id:
                assert not m.check(found), (language, m.id, m.check(found))


def test_an_amendment_s_state_agrees_with_it_and_a_deliverable_s_with_it() -> None:
    # Spanish: una enmienda cancelada, un entregable cancelado — one English word, two translations.
    with i18n.reading(Language.ES):
        assert i18n.pgettext(words.AMENDMENT, words.AMENDMENT_STATE[AmendmentState.CANCELLED]) == "cancelada"
        assert i18n.pgettext(words.AMENDMENT, words.AMENDMENT_STATE[AmendmentState.SIGNED]) == "firmada"
        assert i18n.gettext(words.DELIVERABLE_STATUS[DeliverableStatus.CANCELLED]) == "cancelado"

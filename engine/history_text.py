"""A history row in words, the same on the web pages and in the API's `HistoryRead.text`.

"Sign (pending signature → signed) for UCLG ASPAC by Accord Administrator": what happened (the
workflow's label of the event when the caller has it), the change of state if any, on whose
behalf when an administrator acted for a party (`on_behalf_of` in the row's data), and who.

The words are gettext's (engine/i18n.py), in the language being read when they are written: a
page's (api/web/pages.py sets it), the API's English unless the request sends `Accept-Language`
(api/languages.py). The states stay the machine's names, as the API's `from_state`/`to_state`.
"""

from __future__ import annotations

from typing import Any

from engine.i18n import current, gettext, pgettext


def event_label(event: str) -> str:
    """The words of an event when no workflow label is at hand: its own when it has some (a
    creation, an edit), else its name ("something_new" -> "Something new")."""
    said = {
        "create": pgettext("history", "Created"), "copy": pgettext("history", "Copied"),
        "create_successor": pgettext("history", "Created as successor"), "import": pgettext("history", "Import"),
        "edit": pgettext("history", "Edit"), "party_added": pgettext("history", "Party added"),
        "party_role_changed": pgettext("history", "Party role changed"),
        "focal_point_named": pgettext("history", "Focal point named"),
        "signatory_named": pgettext("history", "Signatory named"),
        "focal_point_removed": pgettext("history", "Focal point removed"),
        "signatory_removed": pgettext("history", "Signatory removed"),
        "area_added": pgettext("history", "Area added"), "area_updated": pgettext("history", "Area updated"),
        "area_removed": pgettext("history", "Area removed"),
        "deliverable_added": pgettext("history", "Deliverable added"),
        "deliverable_updated": pgettext("history", "Deliverable updated"),
        "deliverable_removed": pgettext("history", "Deliverable removed"),
        "document_added": pgettext("history", "Document added"),
        "document_withdrawn": pgettext("history", "Document withdrawn"),
        "workflow_version_changed": pgettext("history", "Workflow version changed"),
        "amendment_merged": pgettext("history", "Amendment merged"),
    }
    return said.get(event) or event.replace("_", " ").capitalize()


def words(event: str, from_state: str | None, to_state: str | None, actor: str,
          data: dict[str, Any] | None, label: str | None = None) -> tuple[str, str]:
    """(what happened, the rest of the sentence), so a page can set the first part apart: a copy
    names its source ("Copied from agreement #3"), a successor's signature the predecessor it
    supersedes, and the predecessor's line the successor whose signature superseded it."""
    rest = ""
    copied = (data or {}).get("copied_from")
    if isinstance(copied, int):
        rest += " " + (gettext("of agreement #%(number)s") if event == "create_successor"
                       else gettext("from agreement #%(number)s")) % {"number": copied}
    if from_state and to_state and from_state != to_state:
        rest += f" ({from_state.replace('_', ' ')} → {to_state.replace('_', ' ')})"
    behalf = (data or {}).get("on_behalf_of")
    if isinstance(behalf, dict) and behalf.get("name"):
        rest += " " + gettext("for %(party)s") % {"party": behalf["name"]}
    rest += " " + gettext("by %(person)s") % {"person": actor}
    supersedes = (data or {}).get("supersedes")
    if isinstance(supersedes, int):
        rest += gettext(", which supersedes agreement #%(number)s") % {"number": supersedes}
    successor = (data or {}).get("successor_id")
    if isinstance(successor, int):
        rest += gettext(": agreement #%(number)s, its successor, was signed") % {"number": successor}
    if not label:
        return event_label(event), rest
    from engine.workflow.machine import catalog  # here: engine.schemas reads this module, the machine them

    return catalog().words(label, current()), rest


def describe(event: str, from_state: str | None, to_state: str | None, actor: str,
             data: dict[str, Any] | None, label: str | None = None) -> str:
    return "".join(words(event, from_state, to_state, actor, data, label))

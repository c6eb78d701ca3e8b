"""A history row in words, the same on the web pages and in the API's `HistoryRead.text`.

"Sign (pending signature → signed) for UCLG ASPAC by Accord Administrator": what happened (the
workflow's label of the event when the caller has it), the change of state if any, on whose
behalf when an administrator acted for a party (`on_behalf_of` in the row's data), and who.
"""

from __future__ import annotations

from typing import Any

# Creations said in words of their own (the others: their name, `focal_point_named` -> "Focal point named").
_CREATIONS = {"create": "Created", "copy": "Copied", "create_successor": "Created as successor"}


def event_label(event: str) -> str:
    """The words of an event when no workflow label is at hand."""
    return _CREATIONS.get(event) or event.replace("_", " ").capitalize()


def words(event: str, from_state: str | None, to_state: str | None, actor: str,
          data: dict[str, Any] | None, label: str | None = None) -> tuple[str, str]:
    """(what happened, the rest of the sentence), so a page can set the first part apart: a copy
    names its source ("Copied from agreement #3"), a successor's signature the predecessor it
    supersedes."""
    rest = ""
    copied = (data or {}).get("copied_from")
    if isinstance(copied, int):
        rest += f" {'of' if event == 'create_successor' else 'from'} agreement #{copied}"
    if from_state and to_state and from_state != to_state:
        rest += f" ({from_state.replace('_', ' ')} → {to_state.replace('_', ' ')})"
    behalf = (data or {}).get("on_behalf_of")
    if isinstance(behalf, dict) and behalf.get("name"):
        rest += f" for {behalf['name']}"
    rest += f" by {actor}"
    supersedes = (data or {}).get("supersedes")
    if isinstance(supersedes, int):
        rest += f", which supersedes agreement #{supersedes}"
    return label or event_label(event), rest


def describe(event: str, from_state: str | None, to_state: str | None, actor: str,
             data: dict[str, Any] | None, label: str | None = None) -> str:
    return "".join(words(event, from_state, to_state, actor, data, label))

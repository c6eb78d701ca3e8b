"""An amendment's changes applied to an agreement: the diff it shows, the conflicts it meets,
and the action that merges it.

    draft_of        the agreement with the amendment's changes, as a `Draft`, checked part by
                    part (what it names exists, what it adds is new, what it removes has no
                    recorded work): the same for the proposal's diff and for the merge
    paths           a change set as `[{"path", "from", "to"}]`: `ends_on`, `contact/3/capacity`,
                    `area/7` (removed), `area/new` (added)
    clashes         the paths the amendment changes that the agreement's history changed since
                    the version the amendment was drafted on
    MergeAmendment  the action: refused with `AmendmentConflict` on a clash, else the changes as
                    one `amended` history entry (its diff, the amendment's number), the reference
                    given `-A<number>`; `engine.schedule.follow` re-derives timers and reminders

Which fields and parts each kind may change is `KIND_FIELDS`; `check_kind` names every one a
kind may not. Nothing here writes: `engine.agreements.service.apply` writes what `decide` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine.agreements import policy
from engine.agreements.actions import _check_dates, _check_owner, _organisations, empty_refusal, progress_of
from engine.agreements.changes import UNSHOWN, ChangeSet, Draft, jsonable
from engine.agreements.values import AgreementSnapshot, AreaValue, DeliverableValue, PartyValue, columns_of
from engine.clock import When
from engine.context import Actor
from engine.errors import AmendmentConflict, InvalidInput
from engine.i18n import N_, gettext, ngettext
from engine.models import HistoryEvent
from engine.schemas import AmendmentChanges
from engine.statuses import AmendmentKind, DeliverableStatus, HistoryKind, PartyRole
from engine.workflow.machine import CompiledWorkflow

# The agreement's own fields an amendment sets, and the parts it changes, by kind.
KIND_FIELDS: dict[str, frozenset[str]] = {
    AmendmentKind.ADMINISTRATIVE: frozenset({"title", "background", "signing_place", "contacts"}),
    AmendmentKind.TERMS: frozenset({"effective_from", "ends_on", "review_every_months", "next_review_on",
                                    "notice_period_days", "summary"}),
    AmendmentKind.SCOPE: frozenset({"areas", "deliverables"}),
    AmendmentKind.PARTIES: frozenset({"parties"}),
}
PART_KEYS = frozenset({"contacts", "areas", "deliverables", "parties"})
# Each kind as a sentence says it (translated where read: `kind_in_words`).
KIND_WORDS: dict[str, str] = {
    AmendmentKind.ADMINISTRATIVE: N_("administrative"), AmendmentKind.TERMS: N_("terms"),
    AmendmentKind.SCOPE: N_("scope"), AmendmentKind.PARTIES: N_("parties"),
}
_SUFFIX = re.compile(r"-A\d+$")


def given(changes: AmendmentChanges) -> list[str]:
    """The keys `changes` sets, in their declared order."""
    return [name for name in AmendmentChanges.model_fields if name in changes.model_fields_set]


def kind_in_words(kind: str) -> str:
    """An amendment's kind in a sentence, in the language being read."""
    return gettext(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


def check_kind(kind: str, changes: AmendmentChanges) -> None:
    """Refuse, naming each, what a `kind` amendment may not change; and an empty one. The fields and
    kinds named in parentheses are those an API request sends, as it sends them."""
    keys = given(changes)
    if not keys:
        raise InvalidInput(gettext("changes is empty: name what the %(kind)s amendment changes (%(fields)s).") % {
            "kind": kind_in_words(kind), "fields": ", ".join(sorted(KIND_FIELDS[kind]))}, field="changes")
    refused = [name for name in keys if name not in KIND_FIELDS[kind]]
    if refused:
        owners = "; ".join(f"{name}: {k}" for name in refused for k, names in KIND_FIELDS.items() if name in names)
        raise InvalidInput(gettext("A %(kind)s amendment changes %(fields)s, not %(refused)s (%(owners)s): propose a "
                                   "separate amendment of that kind.") % {
            "kind": kind_in_words(kind), "fields": ", ".join(sorted(KIND_FIELDS[kind])),
            "refused": ", ".join(refused), "owners": owners}, field="changes." + refused[0])


def reference_after(agreement: AgreementSnapshot, number: int) -> str:
    """The agreement's reference once amendment `number` is merged: its own (or its id) with
    `-A<number>` in place of any earlier amendment's suffix."""
    base = _SUFFIX.sub("", agreement.reference) if agreement.reference else str(agreement.id)
    return f"{base}-A{number}"


async def draft_of(session: AsyncSession, agreement: AgreementSnapshot, changes: AmendmentChanges,
                   when: When) -> Draft:
    """`agreement` with `changes` made, each checked against the agreement as it is."""
    draft = Draft(agreement)
    values = changes.model_dump(exclude_unset=True, exclude=set(PART_KEYS))
    if "title" in values and values["title"] is None:
        raise InvalidInput(empty_refusal("title"), field="changes.title")
    draft.update(values)
    _check_dates(*(getattr(draft.view, name) for name in ("effective_from", "ends_on", "next_review_on")))
    for contact_change in changes.contacts or []:
        contact = agreement.contact(contact_change.id)
        if contact is None:
            raise InvalidInput(gettext("The agreement names no focal point or signatory %(id)s.") % {
                "id": contact_change.id}, field="changes.contacts")
        draft.change(contact, replace(contact, capacity=contact_change.capacity))
    if changes.areas is not None:
        _areas(draft, changes)
    if changes.deliverables is not None:
        _deliverables(draft, changes, when)
    if changes.parties is not None:
        await _parties(session, draft, changes)
    return draft


def _areas(draft: Draft, changes: AmendmentChanges) -> None:
    assert changes.areas is not None
    agreement, areas = draft.before, changes.areas
    removed = set(areas.remove)
    for area_id in areas.remove:
        area = agreement.area(area_id)
        if area is None:
            raise InvalidInput(gettext("The agreement has no area of collaboration %(id)s.") % {"id": area_id},
                               field="changes.areas")
        deliverables = [d for d in agreement.deliverables if d.area_id == area.id]
        progressed = [d.title for d in deliverables if progress_of(d)]
        if progressed:
            raise InvalidInput(gettext("The area %(area)s cannot be removed: %(deliverables)s has progress recorded. "
                                       "Move those deliverables to another area first (a scope amendment of their "
                                       "own: deliverables.change with area_id), or keep the area.") % {
                "area": repr(area.title), "deliverables": "; ".join(progressed)}, field="changes.areas")
        draft.remove_all(deliverables)
        draft.remove(area)
    edits = {change.id: change.model_dump(exclude_unset=True, exclude={"id"}) for change in areas.change}
    for area_id in edits:
        if agreement.area(area_id) is None or area_id in removed:
            raise InvalidInput(gettext("The agreement has no area of collaboration %(id)s to change.") % {
                "id": area_id}, field="changes.areas")
    kept = [a for a in agreement.areas if a.id not in removed]
    for position, area in enumerate(kept):  # changed and moved up past the removed, in one change each
        values = {k: v for k, v in edits.get(area.id, {}).items() if not (k == "title" and v is None)}
        draft.change(area, replace(area, **values, position=position))
    for addition in areas.add:
        draft.add(AreaValue(id=draft.ids.next(), agreement_id=agreement.id, title=addition.title,
                            description=addition.description, position=len(draft.view.areas)))
    titles = [a.title.casefold() for a in draft.view.areas]
    twice = sorted({t for t in titles if titles.count(t) > 1})
    if twice:
        raise InvalidInput(gettext("Two areas of collaboration would be titled %(title)s; choose another title.") % {
            "title": repr(twice[0])}, field="changes.areas")


def _deliverables(draft: Draft, changes: AmendmentChanges, when: When) -> None:
    assert changes.deliverables is not None
    agreement, deliverables = draft.before, changes.deliverables
    for deliverable_id in deliverables.remove:
        found = draft.view.deliverable(deliverable_id)
        if found is None:
            raise InvalidInput(gettext("The agreement has no deliverable %(id)s.") % {"id": deliverable_id},
                               field="changes.deliverables")
        if found.status == DeliverableStatus.DONE:
            raise InvalidInput(gettext("%(deliverable)s is done: delivered work stays on the agreement's record.") % {
                "deliverable": repr(found.title)}, field="changes.deliverables")
        draft.remove(found)
    for change in deliverables.change:
        found = draft.view.deliverable(change.id)
        if found is None:
            raise InvalidInput(gettext("The agreement has no deliverable %(id)s to change.") % {"id": change.id},
                               field="changes.deliverables")
        values = change.model_dump(exclude_unset=True, exclude={"id"})
        if values.get("area_id") is not None and draft.view.area(values["area_id"]) is None:
            raise InvalidInput(gettext("The agreement has no area of collaboration %(id)s to move %(deliverable)s "
                                       "to.") % {"id": values["area_id"], "deliverable": repr(found.title)},
                               field="changes.deliverables")
        if "owner_id" in values:
            _check_owner(agreement, values["owner_id"])
        draft.change(found, replace(found, **{k: v for k, v in values.items()
                                              if not (k in ("area_id", "title") and v is None)}))
    for addition in deliverables.add:
        if draft.view.area(addition.area_id) is None:
            raise InvalidInput(gettext("The agreement has no area of collaboration %(id)s for %(deliverable)s.") % {
                "id": addition.area_id, "deliverable": repr(addition.title)}, field="changes.deliverables")
        _check_owner(agreement, addition.owner_id)
        draft.add(DeliverableValue(
            id=draft.ids.next(), agreement_id=agreement.id, area_id=addition.area_id, title=addition.title,
            description=addition.description, owner_id=addition.owner_id, due_on=addition.due_on,
            status=DeliverableStatus.PLANNED, progress_note=None, evidence_url=None, completed_on=None,
            created_at=when.now, updated_at=when.now))


async def _parties(session: AsyncSession, draft: Draft, changes: AmendmentChanges) -> None:
    assert changes.parties is not None
    agreement, parties = draft.before, changes.parties
    for organisation_id in parties.leave:
        party = agreement.party_of(organisation_id)
        if party is None:
            raise InvalidInput(gettext("Organisation %(id)s is not a party to this agreement.") % {
                "id": organisation_id}, field="changes.parties")
        people = {c.person_id for c in agreement.contacts if c.party_id == party.id}
        owned = [d.title for d in agreement.deliverables
                 if d.owner_id in people and d.status in DeliverableStatus.OPEN]
        if owned:
            raise InvalidInput(gettext("%(party)s cannot leave while its people own open deliverables "
                                       "(%(deliverables)s): give them other owners first.") % {
                "party": party.organisation.name, "deliverables": "; ".join(owned)}, field="changes.parties")
        draft.remove_all(c for c in agreement.contacts if c.party_id == party.id)
        draft.remove_all(s for s in agreement.signatures if s.party_id == party.id)
        draft.remove(party)
    joining = [p.organisation_id for p in parties.join]
    organisations = await _organisations(session, joining)
    for addition in parties.join:
        if addition.organisation_id not in organisations:
            raise InvalidInput(gettext("There is no organisation %(id)s.") % {"id": addition.organisation_id},
                               field="changes.parties")
        if draft.view.party_of(addition.organisation_id) is not None or joining.count(addition.organisation_id) > 1:
            raise InvalidInput(gettext("%(organisation)s is already a party to this agreement.") % {
                "organisation": organisations[addition.organisation_id].name}, field="changes.parties")
        draft.add(PartyValue(id=draft.ids.next(), agreement_id=agreement.id,
                             organisation_id=addition.organisation_id, role=addition.role,
                             organisation=organisations[addition.organisation_id]))
    signing = [p for p in draft.view.parties if p.role == PartyRole.PARTY]
    if len(signing) < 2:
        raise InvalidInput(ngettext("The agreement would have %(count)s signing party; it needs at least two.",
                                    "The agreement would have %(count)s signing parties; it needs at least two.",
                                    len(signing)) % {"count": len(signing)}, field="changes.parties")


def paths(change: ChangeSet) -> list[dict[str, Any]]:
    """`change` as `[{"path", "from", "to"}]`, one entry per field and per column of a part."""
    entries = [{"path": f.name, "from": jsonable(f.old), "to": jsonable(f.new)} for f in change.fields]
    for part in change.parts:
        if part.op == "changed":
            entries += [{"path": f"{part.part}/{part.id}/{name}", "from": jsonable(old), "to": jsonable(new)}
                        for name, (old, new) in part.changed_columns().items() if name not in UNSHOWN]
            continue
        values = {k: jsonable(v) for k, v in columns_of(part.value).items() if k not in UNSHOWN}
        where = f"{part.part}/new" if part.id < 0 else f"{part.part}/{part.id}"
        entries.append({"path": where, "from": None, "to": values} if part.op == "added"
                       else {"path": where, "from": values, "to": None})
    return entries


def _history_paths(diff: dict[str, Any]) -> set[str]:
    """The paths a history row's diff changed (fields, parts' columns) or removed (parts)."""
    found = set(diff.get("fields", {}))
    for part in diff.get("parts", []):
        where = f"{part['part']}/{part['id']}"
        if part["op"] == "changed":
            found.update(f"{where}/{name}" for name in part.get("changes", {}))
        elif part["op"] == "removed":
            found.add(where)
    return found


async def changed_since(session: AsyncSession, agreement_id: int, version: int) -> set[str]:
    """The paths the agreement's history changed after `version`."""
    diffs = await session.scalars(select(col(HistoryEvent.diff)).where(
        col(HistoryEvent.agreement_id) == agreement_id, col(HistoryEvent.version) > version))
    found: set[str] = set()
    for diff in diffs:
        found |= _history_paths(diff or {})
    return found


def clashes(amended: list[str], since: set[str]) -> list[str]:
    """The paths of `amended` that `since` touched: the same path, a part removed since that the
    amendment changes, or a part the amendment removes that was changed since."""
    def clash(path: str) -> bool:
        return any(path == s or path.startswith(s + "/") or s.startswith(path + "/") for s in since)
    return sorted({path for path in amended if not path.endswith("/new") and clash(path)})


@dataclass(frozen=True)
class MergeAmendment:
    """Amendment `number` merged: one `amended` history entry with its diff and number."""

    number: int
    kind: str
    reason: str
    changes: AmendmentChanges
    base_version: int
    drafted: tuple[str, ...]  # the paths of its diff as signed

    async def decide(self, session: AsyncSession, agreement: AgreementSnapshot, actor: Actor, when: When,
                     workflow: CompiledWorkflow) -> ChangeSet:
        policy.require_editor(actor, agreement)
        policy.require_amendable(workflow, agreement)
        found = clashes(list(self.drafted), await changed_since(session, agreement.id, self.base_version))
        if found:
            raise AmendmentConflict(self.number, found)
        draft = await draft_of(session, agreement, self.changes, when)
        draft.set("reference", reference_after(agreement, self.number))
        return draft.finish(HistoryKind.AMENDED, "amendment_merged", comment=self.reason,
                            facts={"amendment": self.number, "kind": self.kind})

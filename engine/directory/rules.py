"""The directory's rules: who may do what to organisations, people and their tokens.

Every permission question of the directory is answered here, as `engine/agreements/policy.py`
answers the agreements': the services (`service`, `tokens`) ask before they write, and the pages
ask the same functions to decide which forms to show, so a form is offered only where the write
would be accepted.

                     administrator            staff                                   partner
    organisations    add; edit any            edit their own                          -
    add a person     to any organisation,     to their own organisation, as staff    -
                     any role                 or partner
    change a person  anyone (`check_change`)  their organisation's people who are     -
                                              not administrators (`check_change`)
    tokens           issue, list and revoke   the same people's: issue, list and      their own: list
                     anyone's                 revoke (their own included)             and revoke

Everyone may change their own language, and only that, whatever their role (`check_change`).
Someone's own tokens they always list and revoke; issuing is for those who look after them.
Seeing comes first and is not decided here: a person out of the actor's sight
(`service.people_in_reach`) is 404 before any rule is asked. A rule's refusal is a 403
(`NotPermitted`) whose detail says who may, in the language being read (`engine.i18n.reading`: the
page's, or the API request's `Accept-Language`; English otherwise).
"""

from __future__ import annotations

from typing import Any

from engine import i18n
from engine.context import Actor
from engine.errors import NotPermitted
from engine.models import Organisation, Person
from engine.statuses import Role


def require_admin(actor: Actor, doing: str) -> None:
    """`doing` is what only an administrator may do, in English and marked for the catalog where
    it is written (`i18n.N_("create organisations")`): the refusal says it in the reader's language."""
    if not actor.is_admin:
        raise NotPermitted(i18n.gettext("Only an administrator can %(doing)s.") % {"doing": i18n.gettext(doing)})


def _looks_after(actor: Actor, person: Person) -> bool:
    """Staff look after the people of their own organisation who are not administrators."""
    return (actor.role == Role.STAFF and person.organisation_id == actor.organisation_id
            and person.role != Role.ADMIN)


# --- organisations ----------------------------------------------------------------------------

def may_edit_organisation(actor: Actor, organisation_id: int) -> bool:
    return actor.is_admin or (actor.role == Role.STAFF and actor.organisation_id == organisation_id)


def check_edit_organisation(actor: Actor, organisation: Organisation) -> None:
    assert organisation.id is not None
    if not may_edit_organisation(actor, organisation.id):
        raise NotPermitted(i18n.gettext("Only an administrator, or staff of %(organisation)s, can change "
                                        "%(organisation)s.") % {"organisation": organisation.name})


# --- people -----------------------------------------------------------------------------------

def may_add_people(actor: Actor) -> bool:
    """Whether `actor` may add anyone at all (to which organisation, as what: `check_add_person`)."""
    return actor.is_admin or actor.role == Role.STAFF


def may_add_to(actor: Actor, organisation_id: int) -> bool:
    """Whether `actor` may add people to the organisation (as what: `check_add_person`)."""
    return actor.is_admin or (actor.role == Role.STAFF and actor.organisation_id == organisation_id)


def check_add_people(actor: Actor) -> None:
    if not may_add_people(actor):
        raise NotPermitted(i18n.gettext("Only an administrator, or staff for their own organisation, can add "
                                        "people."))


def check_add_person(actor: Actor, organisation: Organisation, role: str) -> None:
    check_add_people(actor)
    if actor.is_admin:
        return
    if organisation.id is None or not may_add_to(actor, organisation.id):
        raise NotPermitted(i18n.gettext("Staff add people only to their own organisation; an administrator can "
                                        "add someone to %(organisation)s.") % {"organisation": organisation.name})
    if role == Role.ADMIN:
        raise NotPermitted(i18n.gettext("Only an administrator can make someone an administrator."))


def may_change(actor: Actor, person: Person) -> bool:
    """Whether `actor` may change anything of `person` (what exactly: `check_change`)."""
    return actor.is_admin or _looks_after(actor, person)


def check_change(actor: Actor, person: Person, changes: dict[str, Any]) -> None:
    """Refuse `changes` (field -> new value) to `person` that `actor` may not make."""
    organisation = person.organisation.name
    if person.id == actor.person_id and set(changes) <= {"language"}:
        return  # the language one reads in is one's own business
    if not may_change(actor, person):
        if actor.role == Role.STAFF and person.organisation_id == actor.organisation_id:
            raise NotPermitted(i18n.gettext("%(person)s is an administrator; only an administrator can change "
                                            "them.") % {"person": person.name})
        raise NotPermitted(i18n.gettext("Only an administrator, or staff of %(organisation)s, can change "
                                        "%(person)s.") % {"organisation": organisation, "person": person.name})
    own = person.id == actor.person_id
    if own and changes.get("active", person.active) != person.active:
        raise NotPermitted(i18n.gettext("You cannot disable yourself; ask an administrator."))
    if own and changes.get("role", person.role) != person.role:
        raise NotPermitted(i18n.gettext("You cannot change your own role; ask an administrator."))
    if actor.is_admin:
        return
    if changes.get("role") == Role.ADMIN:
        raise NotPermitted(i18n.gettext("Only an administrator can make someone an administrator."))
    if not own and changes.get("email", person.email) != person.email:
        raise NotPermitted(i18n.gettext("Only an administrator can change %(person)s's email: whoever holds the "
                                        "address can sign in as them.") % {"person": person.name})


# --- tokens -----------------------------------------------------------------------------------

def may_issue_tokens(actor: Actor, person: Person) -> bool:
    """Whether `actor` may issue `person` a token (a disabled person gets none all the same:
    `service.issue_token`)."""
    return actor.is_admin or _looks_after(actor, person)


def check_issue_token(actor: Actor, person: Person) -> None:
    if not may_issue_tokens(actor, person):
        raise NotPermitted(_who_handles_tokens(person, seeing=False))


def may_see_tokens(actor: Actor, person: Person) -> bool:
    """Whether `actor` may list `person`'s tokens and revoke them."""
    return may_issue_tokens(actor, person) or actor.person_id == person.id


def check_see_tokens(actor: Actor, person: Person) -> None:
    if not may_see_tokens(actor, person):
        raise NotPermitted(_who_handles_tokens(person, seeing=True) + " "
                           + i18n.gettext("%(person)s sees their own.") % {"person": person.name})


def _who_handles_tokens(person: Person, *, seeing: bool) -> str:
    """Who may issue `person` tokens (or, `seeing`, list and revoke them), in the language being read."""
    said = {"person": person.name, "organisation": person.organisation.name}
    if person.role == Role.ADMIN:
        return (i18n.gettext("Only an administrator can see the tokens of %(person)s, an administrator.") if seeing
                else i18n.gettext("Only an administrator can issue tokens for %(person)s, an administrator.")) % said
    return (i18n.gettext("Only an administrator, or staff of %(organisation)s, can see the tokens of %(person)s.")
            if seeing else i18n.gettext("Only an administrator, or staff of %(organisation)s, can issue tokens "
                                        "for %(person)s.")) % said

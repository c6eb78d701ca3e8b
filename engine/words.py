"""The domain's words as a person reads them: one table for each of a deliverable's statuses, a
contact's kinds and an amendment's states and kinds, marked for the catalogs where they are written
(`N_`) and translated where they are shown (`gettext(DELIVERABLE_STATUS[status])`, the templates'
`_()`), so that pages, mails, feeds and the engine's sentences say them alike (docs/glossary.md)."""

from __future__ import annotations

from engine.i18n import N_, NP_
from engine.statuses import AmendmentKind, AmendmentState, ContactKind, DeliverableStatus

DELIVERABLE_STATUS: dict[str, str] = {
    DeliverableStatus.PLANNED: N_("planned"), DeliverableStatus.IN_PROGRESS: N_("in progress"),
    DeliverableStatus.DONE: N_("done"), DeliverableStatus.CANCELLED: N_("cancelled")}
CONTACT_KIND: dict[str, str] = {ContactKind.FOCAL_POINT: N_("focal point"), ContactKind.SIGNATORY: N_("signatory")}
# An amendment's states agree with it (Spanish: una enmienda firmada, cancelada): read them with
# `pgettext(AMENDMENT, ...)` (written out in each `NP_`: Babel reads only literals).
AMENDMENT = "amendment state"
AMENDMENT_STATE: dict[str, str] = {
    AmendmentState.DRAFT: NP_("amendment state", "draft"),
    AmendmentState.PENDING_SIGNATURE: NP_("amendment state", "pending signature"),
    AmendmentState.SIGNED: NP_("amendment state", "signed"), AmendmentState.MERGED: NP_("amendment state", "merged"),
    AmendmentState.CANCELLED: NP_("amendment state", "cancelled")}
AMENDMENT_KIND: dict[str, str] = {
    AmendmentKind.ADMINISTRATIVE: N_("administrative"), AmendmentKind.TERMS: N_("terms"),
    AmendmentKind.SCOPE: N_("scope"), AmendmentKind.PARTIES: N_("parties")}

"""The domain's words as a person reads them: one table for each of a deliverable's statuses, a
contact's kinds and an amendment's states and kinds, marked for the catalogs where they are written
(`N_`) and translated where they are shown (`gettext(DELIVERABLE_STATUS[status])`, the templates'
`_()`), so that pages, mails, feeds and the engine's sentences say them alike (docs/glossary.md)."""

from __future__ import annotations

from engine.i18n import N_
from engine.statuses import AmendmentKind, AmendmentState, ContactKind, DeliverableStatus

DELIVERABLE_STATUS: dict[str, str] = {
    DeliverableStatus.PLANNED: N_("planned"), DeliverableStatus.IN_PROGRESS: N_("in progress"),
    DeliverableStatus.DONE: N_("done"), DeliverableStatus.CANCELLED: N_("cancelled")}
CONTACT_KIND: dict[str, str] = {ContactKind.FOCAL_POINT: N_("focal point"), ContactKind.SIGNATORY: N_("signatory")}
AMENDMENT_STATE: dict[str, str] = {
    AmendmentState.DRAFT: N_("draft"), AmendmentState.PENDING_SIGNATURE: N_("pending signature"),
    AmendmentState.SIGNED: N_("signed"), AmendmentState.MERGED: N_("merged"), AmendmentState.CANCELLED: N_("cancelled")}
AMENDMENT_KIND: dict[str, str] = {
    AmendmentKind.ADMINISTRATIVE: N_("administrative"), AmendmentKind.TERMS: N_("terms"),
    AmendmentKind.SCOPE: N_("scope"), AmendmentKind.PARTIES: N_("parties")}

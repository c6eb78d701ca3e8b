"""An amendment's lifecycle (version 1): a small `transitions` machine declared here.

Not a workflow file: the loader of `workflows/` checks a file against what an agreement is (its
guards and effects in engine/workflow/rules.py read an agreement's parties, dates, timers), and
an amendment has none of that; five states and five events are clearer as code than as a file
whose every rule would be a special case. `allowed` and `target` are what the service asks.

    draft ──submit──▶ pending_signature ──sign / approve, the last party──▶ signed ──▶ merged
      ▲                  │  └──sign / approve, others still to come──▶ (stays)        │
      ├────withdraw──────┘                                                            │
      └───────────── reopen: the merge was refused (the agreement changed) ◀─────────┘
    draft, pending_signature ──cancel──▶ cancelled

`signed` lasts only within the request of the last signature: in the same transaction the
amendment is merged (`merge`) or sent back to draft (`reopen`); neither is a person's event.
`approve` stands for `sign` on an administrative amendment (a party's focal point approves).
"""

from __future__ import annotations

from transitions import Machine

from engine.statuses import AmendmentEvent, AmendmentState

VERSION = 1
# The machine's own steps, taken by the service, never sent by a person.
COMPLETE, MERGE, REOPEN = "complete", "merge", "reopen"

# Plain strings: `transitions` names an Enum state by its member's name, not its value.
_DRAFT, _PENDING = AmendmentState.DRAFT.value, AmendmentState.PENDING_SIGNATURE.value
_SIGNED = AmendmentState.SIGNED.value
_MACHINE = Machine(
    model=[], states=[s.value for s in AmendmentState], initial=_DRAFT, auto_transitions=False,
    transitions=[
        {"trigger": AmendmentEvent.SUBMIT.value, "source": _DRAFT, "dest": _PENDING},
        {"trigger": AmendmentEvent.SIGN.value, "source": _PENDING, "dest": _PENDING},
        {"trigger": AmendmentEvent.APPROVE.value, "source": _PENDING, "dest": _PENDING},
        {"trigger": COMPLETE, "source": _PENDING, "dest": _SIGNED},
        {"trigger": MERGE, "source": _SIGNED, "dest": AmendmentState.MERGED.value},
        {"trigger": REOPEN, "source": _SIGNED, "dest": _DRAFT},
        {"trigger": AmendmentEvent.WITHDRAW.value, "source": _PENDING, "dest": _DRAFT},
        {"trigger": AmendmentEvent.CANCEL.value, "source": [_DRAFT, _PENDING],
         "dest": AmendmentState.CANCELLED.value},
    ])
_EVENTS = frozenset(e.value for e in AmendmentEvent)


def allowed(state: str) -> list[str]:
    """The events a person may send to an amendment in `state`, in the order declared."""
    triggers = set(_MACHINE.get_triggers(state))
    return [e.value for e in AmendmentEvent if e.value in triggers]


def target(step: str, state: str) -> str:
    """Where `step` (an event or the machine's own step) leads from `state`."""
    found = _MACHINE.get_transitions(trigger=str(step), source=str(state))
    assert found, f"{step} is not a step from {state}"
    return str(found[0].dest)


def is_event(name: str) -> bool:
    return name in _EVENTS

"""Prometheus metrics that the engine and the worker count; the API serves them at `/metrics`.

    TRANSITIONS      accord_transitions_total{workflow, event, outcome}
                     outcome: fired | guard_failed | not_allowed | conflict
    REMINDERS_DUE    accord_reminders_due_total{channel}     claimed by a worker because they fell due
    REMINDERS_SENT   accord_reminders_sent_total{channel}    delivered (SMTP accepted, webhook 2xx)
    REMINDERS_FAILED accord_reminders_failed_total{channel}  an attempt failed; retried after a back-off
    REMINDERS_DEAD   accord_reminders_dead_total{channel}    given up after the last attempt
    LEASE_LOST       accord_lease_lost_total{kind}           an outcome not written: the worker's lease
                                                             ran out and another worker claimed the row
    TIMERS           accord_timers_total{outcome}            due timers a worker took up, by outcome:
                                                             fired | retrying | failed
    CLAIM_SECONDS    accord_claim_duration_seconds{kind}     one claim transaction, start to commit (a
                                                             timer's also fires its event)
    channel: email (one per notification row; a daily digest carries several) | webhook (one per
    delivery);  kind: timer | notification | webhook

The worker counts in notifications/worker/: `_leases.py` the claims as it makes them and the
lost leases, `_mail.py`, `_webhooks.py` and `_timers.py` each outcome once its write committed.

`count_transition` wraps `engine.agreements.service.fire`, so every path that changes state (API and
scheduler) is counted in one place. With several processes, set PROMETHEUS_MULTIPROC_DIR
(docs/deploy.md) and the counts of every process are added up when `/metrics` is read.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Histogram

from engine.errors import Conflict, GuardFailed, PreconditionFailed, TransitionNotAllowed

TRANSITIONS = Counter(
    "accord_transitions", "Events fired at agreements, by workflow, event and outcome.",
    ["workflow", "event", "outcome"],
)
REMINDERS_DUE = Counter("accord_reminders_due", "Reminders and deliveries claimed because they fell due.",
                        ["channel"])
REMINDERS_SENT = Counter("accord_reminders_sent", "Reminders and deliveries delivered.", ["channel"])
REMINDERS_FAILED = Counter("accord_reminders_failed",
                           "Attempts to send a reminder or delivery that failed and will be retried.",
                           ["channel"])
REMINDERS_DEAD = Counter("accord_reminders_dead", "Reminders and deliveries given up after the last attempt.",
                         ["channel"])
LEASE_LOST = Counter("accord_lease_lost", "Outcomes a worker could not write because its lease ran out "
                     "and another worker claimed the row.", ["kind"])
TIMERS = Counter("accord_timers", "Due timers a worker took up, by outcome.", ["outcome"])
CLAIM_SECONDS = Histogram(
    "accord_claim_duration_seconds", "Time a worker's claim transaction takes, start to commit.", ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

P = ParamSpec("P")
R = TypeVar("R")

# The workflow of the agreement being fired at, as soon as `fire` has loaded it.
_workflow: ContextVar[str | None] = ContextVar("accord_transition_workflow", default=None)


def transition_workflow(name: str) -> None:
    """Name the workflow the current `fire` works on (for the `workflow` label)."""
    _workflow.set(name)


def count_transition(fire: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Count each call of `fire` by its outcome; the event is `fire`'s third argument."""

    @functools.wraps(fire)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        event = str(kwargs.get("event", args[2] if len(args) > 2 else "?"))
        token = _workflow.set(None)
        outcome = "fired"
        try:
            return await fire(*args, **kwargs)
        except GuardFailed:
            outcome = "guard_failed"
            raise
        except TransitionNotAllowed:
            outcome = "not_allowed"
            raise
        except (Conflict, PreconditionFailed):
            outcome = "conflict"
            raise
        except BaseException:
            outcome = ""  # not found, not permitted, invalid input: not a transition attempt
            raise
        finally:
            workflow = _workflow.get()
            _workflow.reset(token)
            if outcome and workflow is not None:
                TRANSITIONS.labels(workflow, event, outcome).inc()

    return counted

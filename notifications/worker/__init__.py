"""The worker: fire due timers, send due mail, deliver due webhooks — as of a given instant.

    run_once(settings, now)   async: one pass as of `now` (`accord worker --once --now ...`)
    run_forever(settings)     async: a pass every `scheduler_interval_seconds` until cancelled
    Scheduler(settings, ...)  the same loop inside the API process: `await start()`, `await stop()`
    Worker(database, settings, ...).run_pass(now)   what all of them call

A pass runs three pollers one after another, each in a private module of this package:

    _timers.py     due timers fired through the engine as the scheduler; failures alert people
    _mail.py       due notifications claimed, superseded, sent in waves, outcomes recorded
    _letters.py    claimed notifications made into mails (one per row, or a daily digest)
    _webhooks.py   due webhook deliveries claimed, POSTed, outcomes recorded
    _leases.py     what mail and webhooks share: the claim with a lease, the outcome writes
    _config.py     WorkerConfig and PassReport
    _worker.py     Worker, which runs the pollers;  _scheduler.py  the loops above

Mail and webhooks leave the database, so they are claimed first, with a lease, and an outcome
is written only while the lease is still this worker's (`_leases.py`). A worker that dies after
its claim leaves the rows it had not finished to be claimed again once the lease has run out.
The unique key of a notification makes a second row impossible; a second send happens only for
a mail the SMTP server accepted in the instant before its worker died and its outcome was
written, and it carries the same Message-ID (`accord-<row ids>@accord`), so mail systems can
drop the copy. Each poller counts what it does in the metrics of engine/metrics.py.
"""

from notifications.worker._config import PassReport, WorkerConfig
from notifications.worker._scheduler import Scheduler, run_forever, run_once
from notifications.worker._worker import Worker

__all__ = ["PassReport", "Scheduler", "Worker", "WorkerConfig", "run_forever", "run_once"]

"""What a worker is configured with (`WorkerConfig`) and what one pass reports (`PassReport`)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, fields
from datetime import timedelta


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 500
    send_concurrency: int = 10
    timer_concurrency: int = 4  # PostgreSQL: agreements whose timers fire side by side
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=6)

    def backoff(self, attempts: int) -> timedelta:
        """The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most 6 h."""
        wait: timedelta = self.backoff_base * 2 ** max(attempts - 1, 0)
        return min(wait, self.backoff_max)


@dataclass
class PassReport:
    timers_fired: int = 0
    timers_failed: int = 0
    superseded: int = 0
    notifications_sent: int = 0
    mails_sent: int = 0
    notifications_retrying: int = 0
    notifications_dead: int = 0
    webhooks_delivered: int = 0
    webhooks_retrying: int = 0
    webhooks_dead: int = 0
    webhooks_cancelled: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def default_owner() -> str:
    """A worker's name as a lease owner: host, process and a random part, unique per worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

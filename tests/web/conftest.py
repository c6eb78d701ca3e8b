"""A real HTTP server for the browser: uvicorn on a free loopback port, in a thread with its own event loop.

The server gets its own `Database` on the test's database (the same SQLite file, or the same
PostgreSQL schema through `search_path`), created inside the thread's loop, and shares the test's
clock, so what the test writes through `world` the browser sees.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from api.app import create_app
from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from tests.support import free_port


@dataclass
class LiveServer:
    url: str
    search_path: str | None
    settings: Settings
    clock: FixedClock
    port: int = 0
    server: uvicorn.Server | None = None
    error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self) -> None:
        database = Database(self.url, search_path=self.search_path, pool_size=5)
        app = create_app(self.settings, clock=self.clock, database=database)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                loop="asyncio", http="h11", ws="none")
        self.server = uvicorn.Server(config)
        try:
            await self.server.serve()
        finally:
            await database.dispose()

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by the fixture, so a crash never passes silently
            self.error = error


@pytest.fixture
def live_server(database_url: tuple[str, str | None], database: Database, settings: Settings,
                clock: FixedClock) -> Iterator[LiveServer]:
    url, search_path = database_url
    live = LiveServer(url=url, search_path=search_path, settings=settings, clock=clock, port=free_port())
    thread = threading.Thread(target=live.run, name="accord-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        if live.server is not None and live.server.started:
            break
        if live.error is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the live server did not start: {live.error!r}")
        time.sleep(0.05)
    try:
        yield live
    finally:
        assert live.server is not None
        live.server.should_exit = True
        thread.join(timeout=20)
        assert live.error is None, live.error

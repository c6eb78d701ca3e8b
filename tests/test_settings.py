"""Where links lead: `accord serve --host --port` (and `make run HOST=... PORT=...`) make the
base URL of mail, feeds and sign-in links unless ACCORD_BASE_URL says otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.settings import Settings, listening_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("host", "port", "url"), [
    ("127.0.0.1", 8001, "http://127.0.0.1:8001"),
    ("accord.local", 9000, "http://accord.local:9000"),
    ("0.0.0.0", 8080, "http://127.0.0.1:8080"),  # every interface: this machine's browser uses loopback
    ("::", 8080, "http://[::1]:8080"),
    ("::1", 8000, "http://[::1]:8000"),
])
def test_the_base_url_follows_the_address_served_on(monkeypatch: pytest.MonkeyPatch, host: str, port: int,
                                                    url: str) -> None:
    monkeypatch.delenv("ACCORD_BASE_URL", raising=False)
    assert listening_url(host, port) == url
    assert Settings().served_at(host, port).base_url == url


def test_an_explicit_base_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_BASE_URL", "https://accord.example.org")
    assert Settings().served_at("0.0.0.0", 8080).base_url == "https://accord.example.org"
    given = Settings(base_url="https://agreements.example.net")
    assert given.served_at("127.0.0.1", 9000).base_url == "https://agreements.example.net"


def test_make_run_serves_on_its_host_and_port() -> None:
    # `make run HOST=... PORT=...` hands both to `accord serve`, which makes the base URL of them.
    planned = subprocess.run(["make", "-n", "run", "HOST=192.0.2.7", "PORT=9123"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True).stdout
    assert "serve --host 192.0.2.7 --port 9123" in planned
    assert "http://192.0.2.7:9123" in planned

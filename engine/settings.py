"""Settings from the environment, prefix `ACCORD_` (see README, "Configuration")."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.statuses import Language


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./accord.db"
    # The calendar in which agreement dates ("effective from", "ends on") are days.
    timezone: str = "UTC"
    # The language of pages and mail for whoever has chosen none, nor their organisation (engine/i18n.py).
    default_language: Language = Language.EN
    # Where people reach Accord: the start of every link in mail, calendar feeds and sign-in
    # links. Unset, `accord serve` (and so `make run HOST=... PORT=...`) makes it the address it
    # listens on (`served_at`); elsewhere (`accord worker`) it is this default.
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "Accord <accord@localhost>"
    outbox_dir: str = "outbox"
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(default=30.0, gt=0)
    page_size_max: int = Field(default=200, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    database_pool_size: int = Field(default=10, ge=1)
    # `accord import` reads no more than this (docs/feeds-reports-import.md, "Limits"): the file
    # as stored, an XLSX workbook unpacked, data rows per table, columns, characters in one cell
    # (32767 is the most an Excel cell holds).
    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    import_max_unpacked_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    import_max_rows: int = Field(default=10_000, ge=1)
    import_max_columns: int = Field(default=64, ge=1)
    import_max_cell_chars: int = Field(default=32_767, ge=1)
    # Uploaded documents, one file per content (its sha256) in this folder (docs/deploy.md,
    # "Documents"): back it up with the database; several API processes share one folder.
    documents_dir: str = "documents"
    document_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    # The kinds of file a document may be, by their usual extension (engine/documents.py knows
    # pdf, png, jpg, docx, xlsx and odt).
    document_types: list[Literal["pdf", "png", "jpg", "docx", "xlsx", "odt"]] = [
        "pdf", "png", "jpg", "docx", "xlsx", "odt"]
    # json | text; unset: json unless stderr is a terminal (engine/logging.py).
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Signs web sign-in cookies. Set it when several API processes serve one site, or to keep
    # people signed in across restarts; unset, each process makes its own at start.
    secret_key: SecretStr | None = None
    # Let webhooks reach loopback, private, link-local and other non-public addresses
    # (notifications/addresses.py): for development and tests, never on a shared deployment.
    webhook_allow_private: bool = False
    # Sign-in links one client address may ask for in an hour, whatever addresses it asks for.
    sign_in_links_per_client_per_hour: int = Field(default=30, ge=1)

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on `host` and `port`: unless `ACCORD_BASE_URL`
        was given, links lead to that address (`listening_url`)."""
        if "base_url" in self.model_fields_set:
            return self
        return self.model_copy(update={"base_url": listening_url(host, port)})

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def listening_url(host: str, port: int) -> str:
    """The address of a server listening on `host` and `port`, as a browser on the same machine
    opens it: every interface (0.0.0.0, ::) is reached at the loopback address, and an IPv6
    address is bracketed. Others reach a server by its name: set `ACCORD_BASE_URL` to it."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()

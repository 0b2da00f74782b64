"""Configuration (pydantic-settings). Every setting is an environment variable prefixed
LEDGER_ (e.g. LEDGER_STORE=postgres), and may come from a .env file."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.guard import DEFAULT_REFERENCE_PATTERN


class Store(StrEnum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ProjectionMode(StrEnum):
    IN_PROCESS = "in_process"  # the API process runs the projections (single worker)
    EXTERNAL = "external"  # `ledger project` runs them in their own process


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    store: Store = Store.SQLITE
    data_dir: Path = Path("var")
    sqlite_path: Path | None = Field(None, description="defaults to <data_dir>/ledger.sqlite3")
    views_sqlite_path: Path | None = Field(None, description="defaults to views.sqlite3 beside the ledger's SQLite file")

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "ledger"
    postgres_user: str = "ledger"
    postgres_password: SecretStr = SecretStr("ledger")
    postgres_schema: str = "public"
    # Connections, per process (README, "Sizing"): a request holds at most one connection of
    # each pool at a time, so no pool needs more than the threads that run requests. Per
    # API worker: the events pool api_threads + 2 (half kept open; 2 for the process's own
    # loops), the views' and the Merkle log's pools max(2, api_threads // 2) each, and 2
    # dedicated ones (LISTEN and the views' locks) with in-process projections. The
    # projection worker: 2 + 2 + 2 + 2 (Settings.for_worker). At most:
    #   workers * (api_threads + 2 + 2 * max(2, api_threads // 2) + 2) + 8
    # which must stay under PostgreSQL's max_connections less its 3 reserved, with room for
    # a rolling restart or a second deployment. The compose file (2 workers, 8 threads): 48.
    api_threads: int = Field(8, ge=2, le=200, description="threads that run requests, per "
                             "API worker (also the size of its pools)")
    postgres_pool_size: int | None = Field(None, ge=1, description="default: api_threads // 2")
    postgres_max_overflow: int | None = Field(None, ge=0, description=(
        "default: api_threads + 2 - pool size"))
    # Seconds to open a new connection (libpq's minimum is 2).
    postgres_connect_timeout: int = Field(2, ge=1, le=60)
    postgres_pool_timeout: float = Field(0.5, gt=0, le=60, description=(
        "seconds a statement waits for a pooled connection; twice this is about how long a "
        "request takes to answer 503 while the database is away"))

    max_request_body: int = Field(256 * 1024, ge=1024, description=(
        "largest request body in bytes; larger ones get 413 before they are read"))
    header_timeout: float = Field(10.0, gt=0, description=(
        "seconds a connection may take to send a request's headers (`ledger serve`)"))
    body_timeout: float = Field(30.0, gt=0, description=(
        "seconds a request may take to send its body; then 408"))
    log_level: str = "INFO"

    projections: ProjectionMode = ProjectionMode.IN_PROCESS
    sqlite_poll_interval: float = 0.05
    read_wait_timeout: float = 2.0  # max seconds a read with min_position waits
    ready_max_lag: int = Field(10_000, ge=0, description=(
        "/readyz answers 503 when a view is more than this many events behind"))

    rapid_review_clock: str = "awareness"  # or "notification"
    stalled_days: int = 60
    at_risk_due_within_days: int = 14
    at_risk_no_update_days: int = 30

    # Sessions of the pages (people sign in; the API keeps bearer tokens).
    session_secret: SecretStr | None = Field(None, description=(
        "signs the pages' cookies; by default a random key kept in <data_dir>/session.key "
        "(mode 0600), shared by the workers that share data_dir"))
    session_hours: float = 8.0  # a session ends this long after sign-in, whatever happens
    session_idle_minutes: float = 30.0  # ... or after this long without a page
    sign_in_link_hours: float = 72.0  # a one-time sign-in link expires after this long

    # Reminders by email (`ledger remind`): off until smtp_host is set.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: bool = False  # STARTTLS after connecting
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "ledger@localhost"
    smtp_attempts: int = 3  # a failed send is retried this many times in all, then logged
    public_url: str = "http://localhost:8000"  # the pages' address, for links in emails
    reminder_due_working_days: int = 10

    integrity_origin: str = "ledger.safeguarding.example/sssp"
    integrity_key_path: Path | None = Field(None, description="defaults to <data_dir>/log.key")

    # Data protection (docs/data-protection.md).
    protect_text: bool | None = Field(None, description=(
        "seal free text per review with AES-GCM data keys (erasure destroys a review's key); "
        "default: on in production, off in development"))
    master_key: SecretStr | None = Field(None, description=(
        "the master key wrapping the data keys (base64, 32 bytes); else master_key_path"))
    master_key_path: Path | None = Field(None, description="defaults to <data_dir>/master.key")
    keys_sqlite_path: Path | None = Field(None, description=(
        "the key store on SQLite and memory stores; defaults to <data_dir>/keys.sqlite3"))
    store_cipher_key: SecretStr | None = Field(None, description=(
        "encrypt every event's whole state (eventsourcing's AESCipher; base64 AES key)"))
    reference_pattern: str = Field(
        DEFAULT_REFERENCE_PATTERN,
        description="the pseudonymous case reference, as a regular expression")
    forbidden_names: list[str] = Field(default_factory=list, description=(
        "names refused in free text (e.g. the partnership's list of family names)"))
    retention_years: int = Field(7, ge=0, description="years after a review closes until erased")
    retention_years_by_partnership: dict[str, int] = Field(default_factory=dict, description=(
        "a partnership's own retention schedule, e.g. {\"Staffordshire\": 10} (JSON)"))

    @property
    def text_protected(self) -> bool:
        """LEDGER_PROTECT_TEXT, or by default: on in production."""
        if self.protect_text is not None:
            return self.protect_text
        return self.environment is Environment.PRODUCTION

    @property
    def master_key_file(self) -> Path:
        return self.master_key_path or self.data_dir / "master.key"

    @property
    def keys_file(self) -> Path:
        return self.keys_sqlite_path or self.sqlite_file.parent / "keys.sqlite3"

    @property
    def sqlite_file(self) -> Path:
        return self.sqlite_path or self.data_dir / "ledger.sqlite3"

    @property
    def events_pool_size(self) -> int:
        return self.postgres_pool_size or max(1, self.api_threads // 2)

    @property
    def events_pool_overflow(self) -> int:
        if self.postgres_max_overflow is not None:
            return self.postgres_max_overflow
        # The request threads, and 2 more for this process's own loops (the in-process
        # runner's reads of the log, the Merkle log's catching up).
        return max(0, self.api_threads + 2 - self.events_pool_size)

    @property
    def views_pool_size(self) -> int:
        return max(2, self.api_threads // 2)

    def for_worker(self) -> Settings:
        """The projection worker's settings: one loop, so small pools (2 + 2 + 2)."""
        return self.model_copy(update={"api_threads": 2, "postgres_pool_size": 1,
                                       "postgres_max_overflow": 1})

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS, except in development (plain http://127.0.0.1)."""
        return self.environment is not Environment.DEVELOPMENT

    @property
    def session_key_file(self) -> Path:
        return self.data_dir / "session.key"

    @property
    def key_file(self) -> Path:
        return self.integrity_key_path or self.data_dir / "log.key"

    @model_validator(mode="after")
    def refuse_default_secrets_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.store is Store.POSTGRES and (
            self.postgres_password.get_secret_value().strip() in {"", "ledger"}
        ):
            raise ValueError("LEDGER_POSTGRES_PASSWORD must be set (not empty, not blank, not "
                             "the development default) outside development")
        try:
            re.compile(self.reference_pattern)
        except re.error as error:
            raise ValueError(f"LEDGER_REFERENCE_PATTERN is not a regular expression: {error}"
                             ) from None
        if self.rapid_review_clock not in {"awareness", "notification"}:
            raise ValueError("LEDGER_RAPID_REVIEW_CLOCK must be 'awareness' or 'notification'")
        return self

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's settings for the Ledger application's event store (with the
        whole-store cipher when store_cipher_key is set)."""
        env = self._store_env()
        if self.store_cipher_key is not None:
            env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
            env["CIPHER_KEY"] = self.store_cipher_key.get_secret_value()
        return env

    def _store_env(self) -> dict[str, str]:
        if self.store is Store.MEMORY:
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.store is Store.SQLITE:
            self.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(self.sqlite_file)}
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_SCHEMA": self.postgres_schema,
            "POSTGRES_POOL_SIZE": str(self.events_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.events_pool_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
            "POSTGRES_CONN_MAX_AGE": "600",
            # A pooled connection is checked before it is lent: after a server restart the
            # pool's connections are all dead, and without the check each became a 500.
            "POSTGRES_PRE_PING": "y",
            "APPLICATION_RECORDER_TOPIC": "api.pg_recorder:LedgerRecorder",
        }

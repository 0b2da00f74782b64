"""Configuration (pydantic-settings). Every setting is an environment variable prefixed
LEDGER_ (e.g. LEDGER_STORE=postgres), and may come from a .env file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    views_sqlite_path: Path | None = Field(None, description="defaults to <data_dir>/views.sqlite3")

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "ledger"
    postgres_user: str = "ledger"
    postgres_password: SecretStr = SecretStr("ledger")
    postgres_schema: str = "public"
    postgres_pool_size: int = 10
    postgres_max_overflow: int = 10
    # Seconds a request waits for a pooled connection (and, at least 2 s, for a new one):
    # with the server away, a request answers 503 within about twice this (api/pg_recorder).
    postgres_connect_timeout: int = Field(1, ge=1, le=60)

    max_request_body: int = Field(256 * 1024, ge=1024, description=(
        "largest request body in bytes; larger ones get 413 before they are read"))
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

    integrity_origin: str = "ledger.safeguarding.example/sssp"
    integrity_key_path: Path | None = Field(None, description="defaults to <data_dir>/log.key")

    @property
    def sqlite_file(self) -> Path:
        return self.sqlite_path or self.data_dir / "ledger.sqlite3"

    @property
    def views_sqlite_file(self) -> Path:
        return self.views_sqlite_path or self.data_dir / "views.sqlite3"

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
        if self.rapid_review_clock not in {"awareness", "notification"}:
            raise ValueError("LEDGER_RAPID_REVIEW_CLOCK must be 'awareness' or 'notification'")
        return self

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's settings for the Ledger application's event store."""
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
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
            "POSTGRES_CONN_MAX_AGE": "600",
            # A pooled connection is checked before it is lent: after a server restart the
            # pool's connections are all dead, and without the check each became a 500.
            "POSTGRES_PRE_PING": "y",
            "APPLICATION_RECORDER_TOPIC": "api.pg_recorder:LedgerRecorder",
        }

"""One settings object per connector process, read from `CBP_CONNECTOR_*` and passed in.

Bad values fail at start-up naming the setting; nothing falls back silently. The signing key
of the log-in tokens is never a setting: it is generated once into the connector's folder,
owner-only, so no secret lives in the repository or the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path(os.environ.get("CBP_HOME") or ".sandbox").resolve()


class ConnectorSettings(BaseSettings):
    """Settings of one organisation's connector."""

    model_config = SettingsConfigDict(env_prefix="CBP_CONNECTOR_", extra="forbid", frozen=True)

    org: Annotated[str, Field(min_length=1, description="organisation key in the topology")]
    home: Path = Field(default_factory=default_home, description="the sandbox folder (CBP_HOME)")
    profile: Path | None = Field(
        default=None, description="connection profile (default HOME/connection-profile.json)"
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default a SQLite file HOME/connectors/ORG/connector.db; "
        "postgresql://user@host/db for PostgreSQL",
    )
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535, description="default: the topology's")
    token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # ledger submissions in flight at once (distinct resources; one resource's run in order)
    submit_concurrency: int = Field(default=64, ge=1, le=1024)
    # an operation the ledger cannot take is retried with back-off until this many seconds
    retry_for_seconds: float = Field(default=3600.0, gt=0)
    # `Prefer: wait=N` is capped here, so that no request holds a worker for long
    max_wait_seconds: float = Field(default=30.0, gt=0, le=120)
    ledger_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_attempts: int = Field(default=8, ge=1, le=20)
    demo_users: bool = Field(default=True, description="create the demo log-ins at first start")

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if not (v.startswith("127.") or v == "localhost"):
            raise ValueError(
                f"CBP_CONNECTOR_HOST={v!r}: the sandbox's connectors listen on loopback only"
            )
        return v

    @model_validator(mode="after")
    def _known_database(self) -> ConnectorSettings:
        url = self.database_url
        if url is not None and not url.startswith(("sqlite", "postgresql")):
            raise ValueError(
                f"CBP_CONNECTOR_DATABASE_URL must be a sqlite:// or postgresql:// URL, not {url!r}"
            )
        return self

    @property
    def folder(self) -> Path:
        """Where this connector keeps its database, key and demo log-ins."""
        return self.home / "connectors" / self.org

    @property
    def profile_path(self) -> Path:
        return self.profile or self.home / "connection-profile.json"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.folder / 'connector.db'}"

"""Runtime settings, read from ``CREDIT_ENGINE_*`` environment variables.

Every command and the service read the same settings object, so an operator can run several
isolated instances side by side by pointing each at its own working folder.
"""

from __future__ import annotations

import ipaddress
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret; refused when ``CREDIT_ENGINE_ENV=production``.
DEFAULT_PSEUDONYM_SECRET = "credit-engine-development-secret-not-for-production"


class InsecureSettingsError(RuntimeError):
    """Raised when a production instance would start with development defaults."""


def is_loopback_host(host: str) -> bool:
    """Whether a listening address reaches this machine only (a name other than localhost may not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDIT_ENGINE_", extra="ignore")

    env: str = Field("development", description="'production' refuses development defaults")
    var_dir: Path = Field(Path("var"), description="working folder: archive, exports, default DB")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in var_dir")
    mlflow_tracking_uri: str | None = Field(None, description="default sqlite:///<var_dir>/mlflow.db")
    model_dir: Path = Field(Path("models"), description="MLflow artefact store for new experiments")
    pseudonym_secret: str = Field(
        DEFAULT_PSEUDONYM_SECRET, description="HMAC key for person pseudonyms and ID encryption"
    )
    keep_encrypted_ids: bool = Field(
        False, description="also store full identity numbers, encrypted with a key derived from the secret"
    )
    archive_key: str | None = Field(
        None,
        description="key encrypting the archived source files (32 bytes, url-safe base64: "
        "`python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`); "
        "default: derived from the pseudonym secret",
    )
    ingest_chunk_rows: int = Field(
        200_000, ge=1, description="rows of a source file read and written at a time (bounds the memory of an ingest)"
    )
    public_rate_limit: str = Field("60/minute", description="per-client limit of the public API and page")
    api_db_connections: int | None = Field(
        None,
        ge=1,
        description="requests of one API worker at the database at once; the others wait their "
        "turn (default: 2 on SQLite, 8 on other databases)",
    )
    api_key_cache_seconds: float = Field(
        2.0,
        ge=0,
        description="how long an API worker trusts a key it has checked: a revocation takes effect "
        "within this time (0: check the store on every request)",
    )
    champion_follow_seconds: float = Field(
        30.0,
        ge=0,
        description="how often an API worker checks which version the champion alias names and "
        "loads it when it changed: a promotion through another worker or the CLI (0: only on reload)",
    )
    open_cases_per_record: int = Field(
        3, ge=1, description="pending objections one published record may have at once (an identical one is refused)"
    )
    open_cases_per_client: int = Field(
        10, ge=1, description="pending repair applications and objections filed from one client address at once"
    )
    read_audit_database_url: str | None = Field(
        None,
        description="where the audit rows of reads go: an SQLite store's writer (an ingest holds it for a whole "
        "file) must not hold up a regulator's read, so on SQLite they go by default to audit.db in var_dir; a "
        "database server keeps them in the store",
    )
    max_body_bytes: int = Field(
        4 << 20,
        ge=1024,
        description="largest request body of a keyed route, refused with 413 before it is read further",
    )
    public_max_body_bytes: int = Field(
        256 << 10,
        ge=1024,
        description="largest request body of the public API and the page (an objection at its longest fits)",
    )
    trusted_proxies: str = Field(
        "",
        description="comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For is believed (default none: the peer's address is the client's)",
    )
    operations_access: Literal["admin-or-loopback", "admin", "open"] = Field(
        "admin-or-loopback",
        description="who may read /metrics, /docs, /redoc and /openapi.json: a key with the "
        "admin role or a caller on the loopback address (default), admin keys only, or anyone",
    )
    rate_limit_storage: str = Field(
        "memory://", description="where rate-limit counters live: memory:// (one process) or redis://host:6379"
    )

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.env == "production" and self.pseudonym_secret == DEFAULT_PSEUDONYM_SECRET:
            raise InsecureSettingsError(
                "CREDIT_ENGINE_ENV=production but CREDIT_ENGINE_PSEUDONYM_SECRET is the development "
                "default: set a secret of your own before starting"
            )
        return self

    def check_bind(self, host: str) -> str:
        """What the service says at start about its secret: refused (InsecureSettingsError) when
        the development secret would serve any address beyond this machine's loopback."""
        if self.pseudonym_secret != DEFAULT_PSEUDONYM_SECRET:
            return "pseudonym secret: set (CREDIT_ENGINE_PSEUDONYM_SECRET)"
        if not is_loopback_host(host):
            raise InsecureSettingsError(
                f"the service would listen on {host}, beyond the loopback address, with the development pseudonym "
                "secret: set CREDIT_ENGINE_PSEUDONYM_SECRET to a secret of your own before serving other machines"
            )
        return f"pseudonym secret: the development default, accepted only because {host} is a loopback address"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'credit_engine.db').resolve()}"

    @property
    def read_audit_url(self) -> str:
        if self.read_audit_database_url:
            return self.read_audit_database_url
        if self.db_url.startswith("sqlite"):
            return f"sqlite:///{(self.var_dir / 'audit.db').resolve()}"
        return self.db_url

    @property
    def db_connections(self) -> int:
        """SQLite is read inside the worker's own process, where more than about two requests at
        once only queue for its one interpreter; a database server is waited on, so more overlap."""
        if self.api_db_connections is not None:
            return self.api_db_connections
        return 2 if self.db_url.startswith("sqlite") else 8

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{(self.var_dir / 'mlflow.db').resolve()}"

    @property
    def archive_dir(self) -> Path:
        return self.var_dir / "archive"

    def scratch(self, prefix: str) -> tempfile.TemporaryDirectory:
        """A temporary folder in the working folder, not the system's: grading's span files are
        about the size of the facts (gigabytes for a province), too much for a ``/tmp`` in memory."""
        folder = self.var_dir / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix=prefix, dir=folder)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()

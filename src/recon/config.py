"""Process settings from the environment (and an optional `.env`).

Nothing here opens connections: `get_settings()` only parses and validates. The defaults give the embedded
mode (SQLite file and local storage under `./var`); `ENVIRONMENT=production` refuses insecure values.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me"  # noqa: S105 - the known default production refuses
MIN_SECRET_LENGTH = 32
GIB = 1024**3
MIB = 1024**2
# Repository checkout layout: src/recon/config.py -> <root>/migrations
_DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class InsecureSettingsError(RuntimeError):
    """Raised when production settings are unsafe; the message names every offending setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    # Empty means sqlite:///<DATA_DIR>/recon.db (filled in by the validator below).
    database_url: str = ""
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=30.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    db_echo: bool = False
    migrations_dir: Path = _DEFAULT_MIGRATIONS_DIR
    # None: migrate on `recon serve` unless ENVIRONMENT=production (where a migration job does it).
    auto_migrate: bool | None = None

    redis_url: str | None = None
    redis_key_prefix: str = "recon:"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    recon_admin_email: str | None = None
    recon_admin_password: SecretStr | None = None
    recon_admin_org: str = "Default"

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces
    port: int = Field(default=2000, ge=0, le=65535)
    metrics_port: int = Field(default=9091, ge=0, le=65535)
    shutdown_timeout_s: int = Field(default=20, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    upload_max_bytes: int = Field(default=GIB, ge=1)
    ingest_inline_max_bytes: int = Field(default=5 * MIB, ge=0)
    # Rule set dry runs execute inside the request: each side must have at most this many records.
    dry_run_max_rows: int = Field(default=100_000, ge=1)
    # GET /runs/{id}/export.csv streams at most this many rows without a job (more: 409 naming the job route).
    export_inline_max_rows: int = Field(default=100_000, ge=0)
    export_max_bytes: int = Field(default=50 * GIB, ge=1)

    embedded_worker: bool = True
    worker_concurrency: int = Field(default=2, ge=1)
    # A running job's lease; heartbeats renew it every third of it. A killed worker's job is retried after it.
    job_lease_s: float = Field(default=60.0, gt=0)
    # How often idle workers look for due jobs (in-process enqueues wake them at once).
    job_poll_interval_s: float = Field(default=1.0, gt=0)

    rate_limit_enabled: bool = True
    rate_limit_auth: str = "10/minute"  # per IP + account (login) or per user (TOTP codes)
    rate_limit_auth_ip: str = "60/minute"  # per IP over all auth endpoints
    rate_limit_write: str = "300/minute"
    rate_limit_read: str = "3000/minute"

    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "recon-api"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("rate_limit_auth", "rate_limit_auth_ip", "rate_limit_write", "rate_limit_read")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"not a rate limit like '10/minute' or '100 per hour': {value!r}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @model_validator(mode="after")
    def _derive_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'recon.db'}"
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                raise InsecureSettingsError(
                    "refusing to start with ENVIRONMENT=production: " + "; ".join(problems)
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.environment != "production"


def production_problems(settings: Settings) -> list[str]:
    """Every reason these settings are unfit for production, each naming its setting."""
    problems: list[str] = []
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEV_JWT_SECRET:
        problems.append("JWT_SECRET is the development default")
    elif len(secret) < MIN_SECRET_LENGTH:
        problems.append(f"JWT_SECRET is shorter than {MIN_SECRET_LENGTH} characters")
    if settings.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL points to SQLite; production needs PostgreSQL")
    admin_password = settings.recon_admin_password
    if admin_password is not None and len(admin_password.get_secret_value()) < 12:
        problems.append("RECON_ADMIN_PASSWORD is shorter than 12 characters")
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

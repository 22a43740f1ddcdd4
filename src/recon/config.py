"""Process settings from the environment (and an optional `.env`).

Nothing here opens connections: `get_settings()` only parses and validates. The defaults give the embedded
mode (SQLite file and local storage under `./var`); `ENVIRONMENT=production` refuses insecure values.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me"  # noqa: S105 - the known default production refuses
MIN_SECRET_LENGTH = 32
MIN_SECRET_ENTROPY_BITS = 80
GIB = 1024**3
MIB = 1024**2
# Repository checkout layout: src/recon/config.py -> <root>/migrations
_DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_DEFAULT_FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


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
    # The built SPA served at `/` (embedded mode); missing: the api serves only /api (production: nginx).
    frontend_dist: Path | None = _DEFAULT_FRONTEND_DIST
    # None: migrate on `recon serve` unless ENVIRONMENT=production (where a migration job does it).
    auto_migrate: bool | None = None

    redis_url: str | None = None
    redis_key_prefix: str = "recon:"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    # Login throttling (docs/adr/0011-hostile-input.md): at most LOGIN_MAX_FAILURES password checks per
    # LOGIN_LOCKOUT_S window for one client address and account; from any address, after that many failures
    # an account's next check waits 1, 2, 4 ... seconds, at most LOGIN_DELAY_MAX_S.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    login_delay_max_s: int = Field(default=60, ge=1)
    recon_admin_email: str | None = None
    recon_admin_password: SecretStr | None = None
    recon_admin_org: str = "Default"

    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces
    port: int = Field(default=2000, ge=0, le=65535)
    metrics_port: int = Field(default=9091, ge=0, le=65535)
    shutdown_timeout_s: int = Field(default=20, ge=0)
    # On SIGTERM `recon serve` first keeps serving this long with /ready at 503 (proxies and endpoints take
    # the replica out), then stops accepting connections. 0: stop at once (development).
    shutdown_drain_s: float = Field(default=0.0, ge=0, le=300)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""
    upload_max_bytes: int = Field(default=GIB, ge=1)
    # Bounds on the work one file may cause (recon.ingest.limits; docs/limits.md). Parsers fail fast naming
    # the limit; the defaults fit the 1 GiB upload limit and a 2 GiB worker.
    ingest_max_columns: int = Field(default=4096, ge=1)
    ingest_max_cell_bytes: int = Field(default=MIB, ge=1)
    ingest_max_row_bytes: int = Field(default=4 * MIB, ge=1)
    ingest_max_rows: int = Field(default=10_000_000, ge=1)
    ingest_max_unzipped_bytes: int = Field(default=512 * MIB, ge=1)
    ingest_max_zip_ratio: int = Field(default=200, ge=1)
    ingest_max_depth: int = Field(default=64, ge=1)
    ingest_inline_max_bytes: int = Field(default=5 * MIB, ge=0)
    # Rule set dry runs: each side must have at most this many records; the engine runs them on a worker
    # (a job) while the request waits at most DRY_RUN_TIMEOUT_S.
    dry_run_max_rows: int = Field(default=100_000, ge=1)
    dry_run_timeout_s: float = Field(default=60.0, gt=0)
    # GET /runs/{id}/export.csv streams at most this many rows without a job (more: 409 naming the job route).
    export_inline_max_rows: int = Field(default=100_000, ge=0)
    export_max_bytes: int = Field(default=50 * GIB, ge=1)

    # Feeds (docs/feeds.md): the store workers poll for new files, a folder `<project id>/<feed path>/` per
    # feed. FEEDS_BACKEND unset: like STORAGE_BACKEND; local: FEEDS_DIR (default DATA_DIR/feeds); s3:
    # FEEDS_S3_BUCKET (default S3_BUCKET) under FEEDS_S3_PREFIX, with S3_ENDPOINT_URL / S3_REGION.
    feeds_backend: Literal["local", "s3"] | None = None
    feeds_dir: Path | None = None
    feeds_s3_bucket: str | None = None
    feeds_s3_prefix: str = "feeds"
    # At most this many new files are ingested per feed and tick (the rest on the next ticks).
    feeds_max_files_per_tick: int = Field(default=100, ge=1)
    # Instant reconciliation: a dataset with more records has its open items indexed by a job (the first
    # request answers 202 with it) rather than inside the request.
    instant_inline_index_rows: int = Field(default=100_000, ge=0)
    # Every worker polls the feeds and fires due schedules this often (seconds); 0: this worker does not.
    scheduler_tick_s: float = Field(default=30.0, ge=0)

    # Backups (`recon backup`): to this S3 bucket (S3_ENDPOINT_URL / S3_REGION / AWS credentials as for
    # uploads) or, without a bucket, to BACKUP_DIR (default DATA_DIR/backups).
    backup_s3_bucket: str | None = None
    backup_s3_prefix: str = "backups"
    backup_dir: Path | None = None
    # Retention: backups older than this many days are deleted by `recon backup create`/`prune`, except the
    # newest BACKUP_KEEP_MIN, which are always kept.
    backup_retention_days: int = Field(default=30, ge=1)
    backup_keep_min: int = Field(default=7, ge=1)

    # DuckDB's memory limit for runs and dry runs ("2GB"); unset: ENGINE_MEMORY_FRACTION of the container's
    # memory limit (cgroup), or DuckDB's default (80 % of RAM) outside a container. Beyond it the engine
    # spills to its temp directory.
    engine_memory_limit: str | None = Field(
        default=None, pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    engine_memory_fraction: float = Field(default=0.5, gt=0, le=0.9)

    embedded_worker: bool = True
    worker_concurrency: int = Field(default=2, ge=1)
    # A running job's lease; heartbeats renew it every third of it. A killed worker's job is retried after it.
    job_lease_s: float = Field(default=60.0, gt=0)
    # How often idle workers look for due jobs (in-process enqueues wake them at once).
    job_poll_interval_s: float = Field(default=1.0, gt=0)
    # "process": each job runs in a child process (forkserver) the worker can kill: cancel and the caps act
    # at once, and the serving process never loads the data stack. "thread": in the worker's own process
    # (the caps and cancel act where the task checks, between its steps).
    job_isolation: Literal["process", "thread"] = "process"
    # Caps per job: past the wall time it fails with that reason; the memory cap is the child's RLIMIT_DATA
    # (process isolation only; the engine's memory limit defaults to half of it).
    job_timeout_s: float = Field(default=3600.0, gt=0)
    job_memory_max_bytes: int = Field(default=4 * GIB, ge=64 * MIB)
    # Running jobs of one project at a time, counted over all workers (fair share: another project's job
    # finds a free slot); 0 = WORKER_CONCURRENCY - 1 (at least 1). Raise it with many separate workers.
    job_max_running_per_project: int = Field(default=0, ge=0)

    # Requests are bounded before any parsing (recon.core.request_guard): bodies other than multipart
    # uploads (those have UPLOAD_MAX_BYTES), all header lines together, nesting of JSON bodies.
    request_max_body_bytes: int = Field(default=MIB, ge=1024)
    request_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    request_max_json_depth: int = Field(default=32, ge=2, le=500)
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto `recon serve` trusts
    # (comma-separated IPs or networks, "*" for any); empty trusts none, so the client IP is the TCP peer.
    forwarded_allow_ips: str = ""

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
    elif estimated_entropy_bits(secret) < MIN_SECRET_ENTROPY_BITS or repeats_a_pattern(secret):
        problems.append(
            f"JWT_SECRET looks guessable (a repeated pattern or about {estimated_entropy_bits(secret):.0f} "
            f"bits of entropy, {MIN_SECRET_ENTROPY_BITS} needed): use a random value, e.g. "
            "`openssl rand -base64 48`"
        )
    if settings.database_url.startswith("sqlite"):
        problems.append("DATABASE_URL points to SQLite; production needs PostgreSQL")
    admin_password = settings.recon_admin_password
    if admin_password is not None and len(admin_password.get_secret_value()) < 12:
        problems.append("RECON_ADMIN_PASSWORD is shorter than 12 characters")
    return problems


def estimated_entropy_bits(secret: str) -> float:
    """Shannon entropy of the secret's characters times its length: 32 random hex digits score 90+ bits,
    longer random tokens far more, 32 x "a" scores 0 and "abab..." 32."""
    counts = Counter(secret)
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def repeats_a_pattern(secret: str) -> bool:
    """'0123456789abcdef0123456789abcdef', 'password-password-...': the text is a shorter unit repeated."""
    return any(secret == (secret[:size] * (len(secret) // size + 1))[: len(secret)] for size in range(1, 17))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

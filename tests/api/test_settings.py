"""Settings: embedded defaults and the production refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.config import DEV_JWT_SECRET, InsecureSettingsError, Settings

SAFE_SECRET = "kP3vR9-qZ2mX7wL4tB8nJ6yH1cF5gD0s"  # random-looking: production refuses "s" * 40
PG = "postgresql://recon:pw@db:5432/recon"


def test_embedded_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "DATA_DIR", "PORT", "METRICS_PORT", "ENVIRONMENT", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.environment == "development"
    assert settings.port == 2000
    assert settings.metrics_port == 9091
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/recon.db"
    assert settings.upload_max_bytes == 1024**3
    assert settings.embedded_worker is True
    assert settings.should_auto_migrate is True


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", "/srv/recon")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("EMBEDDED_WORKER", "false")
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:////srv/recon/recon.db"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"
    assert settings.embedded_worker is False


def test_production_refuses_defaults_and_names_each_setting() -> None:
    with pytest.raises(InsecureSettingsError) as info:
        Settings(_env_file=None, environment="production", database_url="sqlite:///x.db")
    message = str(info.value)
    assert "JWT_SECRET is the development default" in message
    assert "DATABASE_URL points to SQLite" in message


def test_production_refuses_short_secrets() -> None:
    with pytest.raises(InsecureSettingsError, match="JWT_SECRET is shorter than 32"):
        Settings(_env_file=None, environment="production", database_url=PG, jwt_secret="short-secret")
    with pytest.raises(InsecureSettingsError, match="RECON_ADMIN_PASSWORD"):
        Settings(
            _env_file=None,
            environment="production",
            database_url=PG,
            jwt_secret=SAFE_SECRET,
            recon_admin_email="a@example.com",
            recon_admin_password="short",
        )


def test_production_accepts_safe_settings() -> None:
    settings = Settings(_env_file=None, environment="production", database_url=PG, jwt_secret=SAFE_SECRET)
    assert settings.should_auto_migrate is False
    assert settings.jwt_secret.get_secret_value() != DEV_JWT_SECRET


def test_s3_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="S3_BUCKET"):
        Settings(_env_file=None, storage_backend="s3")

"""Settings: environment variables decide where an instance keeps its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit_engine.settings import DEFAULT_PSEUDONYM_SECRET, InsecureSettingsError, Settings


def test_defaults_live_in_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_ENGINE_VAR_DIR", str(tmp_path / "inst-a"))
    monkeypatch.delenv("CREDIT_ENGINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", raising=False)
    s = Settings()
    assert s.db_url == f"sqlite:///{tmp_path / 'inst-a' / 'credit_engine.db'}"
    assert s.tracking_uri == f"sqlite:///{tmp_path / 'inst-a' / 'mlflow.db'}"
    assert s.archive_dir == tmp_path / "inst-a" / "archive"


def test_explicit_urls_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_ENGINE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("CREDIT_ENGINE_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    s = Settings()
    assert (s.db_url, s.tracking_uri) == ("postgresql+psycopg://u@h/db", "http://mlflow:5000")


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_ENGINE_ENV", "production")
    monkeypatch.delenv("CREDIT_ENGINE_PSEUDONYM_SECRET", raising=False)
    with pytest.raises(InsecureSettingsError, match="PSEUDONYM_SECRET"):
        Settings()
    monkeypatch.setenv("CREDIT_ENGINE_PSEUDONYM_SECRET", "a real secret")
    assert Settings().pseudonym_secret != DEFAULT_PSEUDONYM_SECRET


@pytest.mark.parametrize(
    ("url", "expected"), [(None, 2), ("sqlite:////srv/ce.db", 2), ("postgresql+psycopg://u@h/db", 8)]
)
def test_api_database_slots_follow_the_backend(url: str | None, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if url is None:
        monkeypatch.delenv("CREDIT_ENGINE_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("CREDIT_ENGINE_DATABASE_URL", url)
    monkeypatch.delenv("CREDIT_ENGINE_API_DB_CONNECTIONS", raising=False)
    assert Settings().db_connections == expected
    monkeypatch.setenv("CREDIT_ENGINE_API_DB_CONNECTIONS", "5")
    assert Settings().db_connections == 5

"""Every command but ``init`` refuses a store that ``init`` has not migrated, so the CLI's tests
start from an initialised working folder, as a user does after ``credit-engine init``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from credit_engine.settings import Settings
from pipelines.cli import app


@pytest.fixture(autouse=True)
def initialised(settings: Settings) -> Settings:
    result = CliRunner().invoke(app, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return settings

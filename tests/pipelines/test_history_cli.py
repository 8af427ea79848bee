"""The first load of history says what it did (issue 39 item 4)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from credit_engine.settings import Settings
from pipelines.cli import app
from tests.helpers import REG_HEADER, reg_rows, write_csv

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, terminal_width=400)
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def test_history_without_backfill_is_announced_and_past_dates_say_they_know_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    reg = write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())  # registrations approved 2017-2020
    ingested = run("ingest", str(reg))
    assert "warning: these files hold events from 2017-07-07 on" in ingested and "ingest --backfill" in ingested
    built = run("build", "--as-of", "2021-01-01")
    assert "warning: no facts known on 2021-01-01: 6 facts were recorded after 2021-01-01" in built
    trained = run("train", "--as-of", "2021-01-01", code=2)
    assert "no facts known on 2021-01-01" in trained and "both outcomes" not in trained


def test_a_backfill_or_a_store_with_history_gets_no_warning(settings: Settings, tmp_path: Path) -> None:
    reg = write_csv(tmp_path / "reg.csv", REG_HEADER, reg_rows())
    assert "warning" not in run("ingest", "--backfill", str(reg))
    assert "warning" not in run("build", "--as-of", "2021-01-01")

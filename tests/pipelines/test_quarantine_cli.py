"""`credit-engine quarantine`: every refused row with file, row, reason and raw row, IDs masked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from credit_engine.settings import Settings
from pipelines.cli import app
from tests.helpers import REP_A, A, write_csv

runner = CliRunner()
PEN = ["CF_XDR_MC", "CF_XDR_SHXYM", "CF_FR_ZJHM", "CF_WSH", "CF_CFLB", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"]


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False, terminal_width=240)
    assert result.exit_code == 0, result.output
    return result.output


def test_quarantine_lists_filters_and_exports_with_identity_numbers_masked(settings: Settings, tmp_path: Path) -> None:
    typo = A[:17] + ("0" if A[17] != "0" else "1")
    write_csv(
        tmp_path / "pen.csv",
        PEN,
        [
            ["甲", typo, REP_A, "Q-1", "罚款", "1", "2024-03-01", "局"],  # waits for registration data
            ["乙", A, "", "Q-2", "罚款", "1", "2024-02-30", "局"],  # impossible date
        ],
    )
    output = run("ingest", str(tmp_path / "pen.csv"))
    assert "waiting" in output
    listed = run("quarantine")
    assert "quarantined rows: 2" in listed and "uscc_check_failed_unplaced" in listed and "bad_date" in listed
    assert REP_A not in listed and REP_A[:10] not in listed.replace(REP_A[:10] + "*", "")  # only masked
    only = run("quarantine", "--reason", "bad_date", "--file", "pen.csv")
    assert "quarantined rows: 1" in only and "Q-2" in only and "Q-1" not in only
    run("quarantine", "--export", str(tmp_path / "out" / "q.csv"))
    exported = pd.read_csv(tmp_path / "out" / "q.csv", dtype=str)
    assert exported[["file", "row_number", "reason_code"]].values.tolist() == [
        ["pen.csv", "1", "uscc_check_failed_unplaced"],
        ["pen.csv", "2", "bad_date"],
    ]
    assert '"CF_WSH": "Q-1"' in exported.loc[0, "raw"] and REP_A not in exported.to_csv()

"""`credit-engine sample`: a plan file drawn with a seed, committed first when asked, verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from credit_engine.sampling import draw, ledger
from credit_engine.settings import Settings
from credit_engine.store.db import make_engine, upgrade
from pipelines.cli import app
from tests.core.test_sampling_store import seed_store

runner = CliRunner()
PLAN = """
title = "2026年第三季度登记事项抽查"
item = "企业登记事项检查"
departments = ["命令行测试局"]
as_of = 2026-06-30
sample_size = 10
cross_assignment = true

[scope]
regions = ["2301"]

[[inspectors]]
code = "CLI-1"
name = "王检查"
department = "命令行测试局"
authority = "外区分局"

[[inspectors]]
code = "CLI-2"
name = "李检查"
department = "命令行测试局"
authority = "外区分局"
"""


@pytest.fixture
def plan_file(settings: Settings, tmp_path: Path) -> Path:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    seed_store(engine)
    path = tmp_path / "plan.toml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def test_sample_with_a_seed_prints_weights_commitment_and_a_reproducible_sample(
    plan_file: Path, settings: Settings
) -> None:
    result = runner.invoke(app, ["sample", "--plan", str(plan_file), "--seed", "20260701"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Σπ = 10" in result.output and "frame hash" in result.output and "commitment" in result.output
    assert "seed 20260701" in result.output and "sample of draw 1: 10 entities" in result.output
    engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        row = ledger.get_draw(conn, 1)
        sample = ledger.sample_of(conn, 1)
        frame = ledger.frame_bytes(conn, 1)
    assert row["seed"] == "20260701" and row["seed_holder"] == "client"
    assert draw.commitment("20260701", row["salt"]) == row["commitment"]
    assert all(set(s) == {"CLI-1", "CLI-2"} for s in sample["inspectors"])  # the plan's inspectors

    frame_file = plan_file.with_name("frame.txt")
    frame_file.write_bytes(frame)
    verified = runner.invoke(app, ["sample", "verify", "1", "--frame", str(frame_file)])
    assert verified.exit_code == 0 and "draw 1 verified" in verified.output
    frame_file.write_bytes(frame.replace(b",0.", b",1.", 1) if b",0." in frame else frame[:-1])
    assert runner.invoke(app, ["sample", "verify", "1", "--frame", str(frame_file)]).exit_code == 1
    wrong = runner.invoke(app, ["sample", "verify", "1", "--seed", "20260702"])
    assert wrong.exit_code == 1 and "do not open the published commitment" in wrong.output


def test_commit_only_then_reveal(plan_file: Path) -> None:
    committed = runner.invoke(app, ["sample", "--plan", str(plan_file), "--seed", "7", "--commit-only"])
    assert committed.exit_code == 0, committed.output
    line = next(x for x in committed.output.splitlines() if "credit-engine sample reveal" in x)
    args = line.split("credit-engine ", 1)[1].split()
    assert runner.invoke(app, [*args[:3], "--seed", "8", *args[5:]]).exit_code == 2  # wrong seed
    revealed = runner.invoke(app, args)
    assert revealed.exit_code == 0 and "sample of draw 1: 10 entities" in revealed.output


def test_a_plan_outside_the_policy_is_refused(plan_file: Path) -> None:
    plan_file.write_text(PLAN.replace("sample_size = 10", "ratios = { A = 0.5 }"), encoding="utf-8")
    result = runner.invoke(app, ["sample", "--plan", str(plan_file)])
    assert result.exit_code == 2 and "outside the range" in result.output

"""The CLI end to end on a synthetic province: what `make demo` runs, checked against the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from credit_engine.settings import Settings
from credit_engine.store.db import make_engine
from credit_engine.synth import synthesise
from pipelines.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def province(tmp_path: Path, settings: Settings):
    from datetime import date

    report = synthesise(tmp_path / "prov", entities=600, seed=3, as_of=date(2026, 6, 30))
    return report


def test_synth_init_ingest_accounts_for_every_injected_defect(province, settings: Settings, tmp_path: Path) -> None:
    run("init")
    output = run("ingest", str(province.out_dir / "sources"))
    assert "ingest report: 14 files" in output
    engine: Engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        quarantined = pd.read_sql_query("SELECT reason_code, COUNT(*) AS n FROM quarantine GROUP BY reason_code", conn)
        flags = pd.read_sql_query("SELECT flags, COUNT(*) AS n FROM fact WHERE flags IS NOT NULL GROUP BY flags", conn)
        entities = conn.exec_driver_sql("SELECT COUNT(*) FROM entity WHERE registered").scalar()
    counts = dict(zip(quarantined["reason_code"], quarantined["n"]))
    defects = province.defects
    # only rows that are truly unusable end in quarantine, each with the reason injected
    assert set(counts) <= {
        "placeholder_code",
        "bad_date",
        "malformed_row",
        "minor_listed",
        "uscc_check_failed_unplaced",
    }
    # a typo without the party's name waits for registration data (unless an old code beside it places it)
    assert 0 < counts["uscc_check_failed_unplaced"] <= defects["uscc_typo_unnamed"]
    assert counts.get("bad_date", 0) == defects["bad_date"]
    assert counts.get("malformed_row", 0) == defects["bad_field_count"]
    assert counts.get("minor_listed", 0) == defects["court_minor"]
    assert 0 < counts["placeholder_code"] <= defects["uscc_placeholder"]
    flagged = dict(zip(flags["flags"], flags["n"]))
    for flag in (
        "resolved_from_reg_no",
        "resolved_from_org_code",
        "resolved_from_masked",
        "uscc_check_failed",
        "uscc_corrected",
    ):
        assert flagged.get(flag, 0) > 0, flag
    assert entities == 600
    with engine.connect() as conn:  # every typo placed by correction is on its own entity, and none is an entity
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM entity").scalar() == 600
        corrected = conn.exec_driver_sql("SELECT COUNT(*) FROM fact WHERE flags LIKE '%uscc_corrected%'").scalar()
    typos = defects["uscc_typo_check"] + defects["uscc_typo_named"] + defects["uscc_transposed"]
    assert 0.9 * typos <= corrected <= typos  # a typo's row may also carry a defect that refuses it

    again = run("ingest", str(province.out_dir / "sources"))
    assert again.count("unchanged") >= 14


def test_unknown_header_fails_the_command_with_the_reason(settings: Settings, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("统一社会信用代码,企业名称,列入日期\n91230102MA0000001M,甲,2020-01-01\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(odd)])
    assert result.exit_code == 1
    assert "closest is 'abnormal'" in " ".join(result.output.split())


def test_missing_path_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_demo_runs_the_flow_in_the_working_folder(settings: Settings, tmp_path: Path) -> None:
    output = run("demo", "--entities", "1200", "--port", "0")
    assert all(f"({role}): ce_" in output for role in ("regulator", "analyst", "admin"))  # demo keys, one per role
    assert "X-API-Key" not in output  # --port 0: not served, so no URLs to try
    assert "ingest report: 14 files" in output
    assert "credit-risk version 1 is now the champion" in output and "grades as of 2026-06-30" in output
    assert (settings.var_dir / "credit_engine.db").exists()
    assert any((settings.var_dir / "archive").rglob("*.csv.enc"))
    assert "champion" in run("models")
    # an analyst's table with its label spelled good/bad and an identifier column
    rows = pd.DataFrame(
        {
            "客户编号": [f"K{i}" for i in range(300)],
            "x": [i % 7 for i in range(300)],
            "结果": ["bad" if (i % 7 > 3) ^ (i % 11 == 0) else "good" for i in range(300)],
        }
    )
    rows.to_csv(tmp_path / "mine.csv", index=False, encoding="gb18030")
    trained = run("train", "--table", str(tmp_path / "mine.csv"), "--label", "结果")
    assert "label 结果: bad = 1 (bad), good = 0 (guessed" in trained
    assert "left out 客户编号: named like an identifier" in trained
    listed = run("models")
    assert "credit-risk-analyst" in listed and "challenger" in listed.split("credit-risk-analyst")[1]
    with make_engine(settings.db_url).connect() as conn:
        batches = conn.exec_driver_sql("SELECT COUNT(DISTINCT batch_id) FROM grade").scalar()
    regraded = run("promote", "1", "--regrade", "--as-of", "2026-06-30")
    assert "credit-risk version 1 is now the champion" in regraded and "grades as of 2026-06-30" in regraded
    with make_engine(settings.db_url).connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(DISTINCT batch_id) FROM grade").scalar() == batches + 1
    out = tmp_path / "grades.csv"
    assert "wrote 1,2" in run("export", "grades", "--out", str(out))
    grades = pd.read_csv(out)
    assert list(grades.columns) == ["uscc", "grade", "score", "as_of", "model_version", "reasons"]
    assert set(grades["grade"]) == {"A", "B", "C", "D"} and (grades["as_of"] == "2026-06-30").all()
    with make_engine(settings.db_url).connect() as conn:  # classes are internal: their export is audited
        exported = conn.exec_driver_sql("SELECT actor, detail_json FROM audit_log WHERE action = 'export_grades'").all()
    assert len(exported) == 1 and exported[0][0].startswith("cli:") and f'"rows": {len(grades)}' in exported[0][1]
    assert "publicity ended: penalty" in output
    # the synthetic plan is drawn with inspectors from other authorities, and anyone can verify it
    assert "plan 1, draw 1:" in output and "inspection): ce_" in output
    assert "draw 1 verified" in run("sample", "verify", "1")
    assert "transfer(s) due" in run("transfers", "--as-of", "2026-06-30")

    # a second demo serves the same state: no second model, keys, plan, draw or grade batch
    def state() -> tuple:
        with make_engine(settings.db_url).connect() as conn:
            return tuple(
                conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()
                for table in ("api_key", "inspection_plan", "inspection_draw", "grade", "fact", "entity")
            )

    before, models_before = state(), run("models")
    again = run("demo", "--entities", "1200", "--port", "0")
    assert "already built" in again and "ingest report" not in again
    assert all(f"({role}): ce_" in again for role in ("regulator", "inspection", "analyst", "admin"))
    assert state() == before and run("models") == models_before
    refused = runner.invoke(app, ["demo", "--entities", "1300", "--port", "0"])
    assert refused.exit_code == 2 and "make demo-reset" in refused.output


def test_train_and_export_refuse_bad_input_with_a_clear_message(settings: Settings, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "grades", "--out", str(tmp_path / "g.csv")])
    assert result.exit_code == 1 and "no grades yet" in result.output
    result = runner.invoke(app, ["grade", "--as-of", "2026-06-30"])
    assert result.exit_code == 1 and "no model version has the alias 'champion'" in result.output
    table = tmp_path / "t.csv"
    table.write_text("id,x,bad\n1,2,0\n2,3,1\n")
    result = runner.invoke(app, ["train", "--table", str(table), "--label", "nope"])
    assert result.exit_code == 2 and "no column nope" in result.output
    result = runner.invoke(app, ["train", "--shares", "0.5,0.5"])
    assert result.exit_code == 2 and "--shares takes 4" in result.output
    result = runner.invoke(app, ["train", "--as-of", "2026-06-30"])  # an empty store: no labelled rows
    assert result.exit_code == 2 and "must each hold both outcomes" in result.output
    result = runner.invoke(app, ["promote", "999"])
    assert result.exit_code == 1 and "no version 999 of credit-risk" in result.output


def test_link_and_build_store_flags_for_the_date(province, settings: Settings) -> None:
    run("ingest", str(province.out_dir / "sources"))
    assert "linked" in run("link")
    assert "no flags as of 2026-06-30" in run("build", "--as-of", "2026-06-30")  # not yet recorded then
    output = run("build")
    engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT flag, COUNT(*) FROM link_flag GROUP BY flag").all())
    assert stored and all(flag in output for flag in stored)
    # the synthetic province keeps court-listed legal representatives on purpose, but its listings name
    # the court's conduct categories, never 因所负数额较大债务到期未清偿: no Company Law Art.178(5) bar
    assert "court_listed_legal_representative" not in stored and "barred_legal_representative" in stored
    run("build")  # rebuilding a date replaces its flags
    with engine.connect() as conn:
        assert dict(conn.exec_driver_sql("SELECT flag, COUNT(*) FROM link_flag GROUP BY flag").all()) == stored


def test_keys_are_created_listed_and_revoked_and_only_their_hashes_stored(settings: Settings) -> None:
    import re

    from credit_engine.keys import principal_for

    output = run("keys", "create", "--role", "regulator", "--scope", "2301,2306", "--name", "哈尔滨局")
    key_id, key = re.search(r"key (\d+) \(regulator 2301,2306\): (ce_[\w-]+)", output).groups()
    engine = make_engine(settings.db_url)
    with engine.connect() as conn:
        holder = principal_for(conn, key)
        stored = conn.exec_driver_sql("SELECT key_hash, prefix FROM api_key").all()
    assert holder.scopes == ("2301", "2306") and holder.name == "哈尔滨局" and holder.covers("230103")
    assert not holder.covers("230203") and key not in {v for row in stored for v in row}
    listing = run("keys", "list")
    assert "哈尔滨局" in listing and "2301,2306" in listing and key not in listing
    assert f"key {key_id} revoked" in run("keys", "revoke", key_id)
    with engine.connect() as conn:
        assert principal_for(conn, key) is None
        actions = [r[0] for r in conn.exec_driver_sql("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["key_create", "key_revoke"]
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1 and "no active key" in again.output
    for bad in (
        ["--role", "inspector"],
        ["--role", "analyst", "--scope", "2301"],
        ["--role", "regulator", "--scope", "23a"],
    ):
        refused = runner.invoke(app, ["keys", "create", *bad])
        assert refused.exit_code == 2 and ("roles:" in refused.output)


@pytest.mark.parametrize("schema", [None, "0008"])
def test_a_command_refuses_a_store_that_init_has_not_migrated(
    settings: Settings, tmp_path: Path, schema: str | None
) -> None:
    """Only ``init`` (and ``serve`` at start) changes the schema: ``grade`` or ``ingest`` against a
    store of another schema says what to run and leaves the schema as it was."""
    from credit_engine.store.db import current_revision, upgrade

    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(url)
    if schema:
        upgrade(engine, schema)
    import os

    os.environ["CREDIT_ENGINE_DATABASE_URL"] = url
    from credit_engine.settings import get_settings

    get_settings.cache_clear()
    try:
        for args in (["grade", "--as-of", "2026-06-30"], ["ingest", str(tmp_path)], ["keys", "list"], ["link"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 1, (args, result.output)
            assert "run `credit-engine init`" in result.output
        assert current_revision(engine) == schema
        assert run("init") and current_revision(engine) != schema
        assert runner.invoke(app, ["keys", "list"]).exit_code == 0
    finally:
        del os.environ["CREDIT_ENGINE_DATABASE_URL"]
        get_settings.cache_clear()
        engine.dispose()


def test_rules_show_and_diff() -> None:
    """``credit-engine rules show``: every value with its source and tag; ``--diff``: what changed."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["rules", "show", "--as-of", "2026-04-01", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["rule_set"] == "cn-2026-04-01"
    counting = next(v for v in report["values"] if v["path"] == "penalty.counting")
    assert counting["value"] == "decision" and counting["tag"] == "C"
    diff = runner.invoke(app, ["rules", "show", "--as-of", "2026-03-31", "--diff", "2026-04-01", "--json"])
    changes = {c["path"]: c for c in json.loads(diff.output)["changes"]}
    assert (changes["penalty.counting"]["before"]["value"], changes["penalty.counting"]["after"]["value"]) == (
        "publication",
        "decision",
    )
    general = changes["penalty.tiers.general.publicity_months"]  # 1 year on both sides; only its source changed
    assert (
        general["before"]["value"],
        general["after"]["value"],
        general["before"]["tag"],
        general["after"]["tag"],
    ) == (12, 12, "P", "C")
    table = runner.invoke(app, ["rules", "show", "--as-of", "2021-08-31"])
    assert table.exit_code == 0 and "cn-2014-10-01" in table.output

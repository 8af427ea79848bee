"""The model lifecycle on a small synthetic province: train, register, gate, promote, grade,
re-grade, explain, export — with real MLflow (SQLite tracking) on every store backend."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.exc import DatabaseError

from credit_engine.features import features_as_of, load_history
from credit_engine.grading import batch
from credit_engine.scoring import lifecycle, registry
from credit_engine.scoring.models import FEW_ROWS
from tests.core.conftest import AS_OF, batch_rows

pytestmark = pytest.mark.xdist_group("scoring")


def test_a_training_run_logs_metrics_cutoffs_catalogue_and_plots(province, champion) -> None:
    _, settings = province
    client = registry.client(settings)
    run = client.get_run(champion.run_id)
    assert {"valid_auc", "valid_ks", "valid_brier", "scorecard_valid_auc", "class_share_D"} <= set(run.data.metrics)
    assert 0.5 < run.data.metrics["valid_auc"] <= 1
    assert float(run.data.params["cutoff_a"]) == pytest.approx(champion.cutoffs.thresholds[0])
    files = {a.path for folder in ("reports", "plots") for a in client.list_artifacts(champion.run_id, folder)}
    assert {"reports/feature_catalogue.csv", "reports/scorecard.csv", "plots/roc.png", "plots/calibration.png"} <= files
    version = client.get_model_version(registry.MODEL_NAME, champion.version)
    assert "champion" in version.aliases


def test_the_gate_refuses_a_worse_challenger_unless_justified(province, champion, monkeypatch) -> None:
    engine, settings = province
    with engine.connect() as conn:
        second = lifecycle.train_on_store(conn, settings, AS_OF)
    assert second.metrics["class_psi_vs_champion"] < 0.01  # same data, same seed: same classes
    assert registry.gate(settings, second.version) == []
    # the champion measured on the challenger's own validation rows: the same model, the same AUC
    assert second.metrics["champion_valid_auc"] == pytest.approx(second.metrics["valid_auc"])
    monkeypatch.setattr(registry, "MAX_AUC_DROP", -1.0)  # demand an impossible gain
    with pytest.raises(registry.PromotionRefused, match="validation AUC .* on the same validation rows"):
        registry.promote(settings, second.version)
    with pytest.raises(registry.PromotionRefused):
        registry.promote(settings, second.version, justification="  ")
    outcome = registry.promote(settings, second.version, justification="regulator asked for the rule change")
    assert outcome["forced"] and outcome["previous"] == champion.version
    assert registry.alias_version(settings, "champion") == second.version
    registry.promote(settings, champion.version, justification="restore the champion for the next tests")


def test_a_promotion_whose_audit_fails_leaves_the_champion_in_place(province, champion, monkeypatch) -> None:
    engine, settings = province
    with engine.connect() as conn:
        other = lifecycle.train_on_store(conn, settings, AS_OF)

    def failing_audit(*args: object, **kwargs: object) -> None:
        raise DatabaseError("INSERT INTO audit_log", {}, Exception("the disk is full"))

    monkeypatch.setattr(lifecycle.Store, "audit", failing_audit)
    with pytest.raises(DatabaseError), engine.begin() as conn:
        lifecycle.promote_audited(conn, settings, other.version, None, "test")
    assert registry.alias_version(settings, "champion") == champion.version


def test_grading_every_entity_is_append_only_and_carries_its_versions(province, champion) -> None:
    engine, settings = province
    report = batch.grade_all(engine, settings, AS_OF, champion)
    with engine.connect() as conn:
        grades = pd.read_sql_query(f"SELECT * FROM grade WHERE batch_id = '{report.batch_id}'", conn)
        entities = conn.exec_driver_sql("SELECT COUNT(*) FROM entity").scalar()
    assert len(grades) == entities == sum(report.counts.values())
    assert set(grades["model_version"]) == {champion.version} and set(grades["rule_set_id"]) == {"cn-2026-04-01"}
    # training on labels until AS_OF logged the shares this batch grades, direct judgements included
    logged = registry.client(settings).get_run(champion.run_id).data.metrics
    for g in "ABCD":
        assert logged[f"graded_share_{g}"] == pytest.approx(np.mean(grades["grade"] == g))
    assert logged["graded_share_D"] > logged["class_share_D"]  # the serious list forces D
    features = pd.DataFrame([json.loads(v) for v in grades["features_json"]], columns=champion.model.columns_)
    serious = features["serious_active"].to_numpy() > 0
    assert serious.any() and set(grades.loc[serious, "grade"]) == {"D"}  # direct judgement
    listed = (features["abnormal_active"].to_numpy() > 0) & ~serious
    assert set(grades.loc[listed, "grade"]) <= {"C", "D"}
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE grade SET grade = 'A'")
    with engine.connect() as conn:
        export = batch.export_grades(conn, AS_OF)
    assert list(export.columns) == ["uscc", "grade", "score", "as_of", "model_version", "reasons"]
    assert len(export) == entities and export["score"].between(0, 1).all()


def test_a_grade_of_a_past_date_names_no_entity_established_after_it(province, champion) -> None:
    engine, settings = province
    past = date(2024, 6, 30)
    with engine.connect() as conn:
        later = {u for (u,) in conn.exec_driver_sql(f"SELECT uscc FROM entity WHERE established_on > '{past}'")}
        entities = conn.exec_driver_sql("SELECT COUNT(*) FROM entity").scalar()
    assert later
    report = batch.grade_all(engine, settings, past, champion, partition_size=97)
    with engine.connect() as conn:
        graded = {u for (u,) in conn.exec_driver_sql(f"SELECT uscc FROM grade WHERE batch_id = '{report.batch_id}'")}
        assert len(graded) == entities - len(later) == sum(report.counts.values()) and not graded & later
        with pytest.raises(LookupError, match="established after"):
            batch.regrade(conn, champion, min(later), past, "test", "a past date")
    before_all = batch.grade_all(engine, settings, date(1980, 1, 1), champion, partition_size=97)
    assert before_all.counts == {}  # every span empty: graded nothing, and did not fail


def test_small_partitions_and_a_regrade_give_the_grades_of_one_partition(province, champion) -> None:
    engine, settings = province
    steps = []
    whole = batch.grade_all(engine, settings, AS_OF, champion, partition_size=10**9)
    parts = batch.grade_all(
        engine,
        settings,
        AS_OF,
        champion,
        partition_size=97,
        progress=lambda step, done, total: steps.append((step, done, total)),
    )
    expected, got = batch_rows(engine, whole.batch_id), batch_rows(engine, parts.batch_id)
    pd.testing.assert_frame_equal(got, expected)
    assert parts.counts == whole.counts and len(got) == sum(whole.counts.values())
    total = len(got)
    assert [s for s in steps if s[0] == "grade"][-1] == ("grade", total, total)
    assert len([s for s in steps if s[0] == "grade"]) == -(-total // 97)
    features = pd.DataFrame([json.loads(v) for v in got["features_json"]], columns=champion.model.columns_)
    related = ["related_dishonest_enterprises", "legal_rep_other_enterprises", "key_persons_court_listed"]
    assert (features[related].sum() > 0).all()  # indicators that read other partitions' facts
    for row in got[features["related_dishonest_enterprises"].to_numpy() > 0].head(3).itertuples():
        with engine.begin() as conn:  # a partition of one entity
            again = batch.regrade(conn, champion, row.uscc, AS_OF, actor="test", why="as in the batch")
        assert (again["grade"], again["score"]) == (row.grade, row.score)
        assert json.loads(again["features_json"]) == json.loads(row.features_json)


def test_span_files_live_in_the_working_folder_and_go_when_grading_ends(province, champion) -> None:
    """A province's span files are gigabytes: they belong in the operator's working folder, not in
    a system ``/tmp`` that may be held in memory."""
    engine, settings = province
    seen: list[Path] = []

    def look(step: str, done: int, total: int | None) -> None:
        if step == "grade" and not seen:
            seen.extend(settings.var_dir.glob("tmp/spans-*/*.arrow"))

    batch.grade_all(engine, settings, AS_OF, champion, partition_size=97, progress=look)
    assert seen, "no span file under the working folder while grading"
    assert not list((settings.var_dir / "tmp").iterdir())


def test_one_entity_is_regraded_at_once_and_explained_from_its_stored_vector(province, champion) -> None:
    engine, settings = province
    with engine.connect() as conn:
        uscc = conn.exec_driver_sql(
            "SELECT subject_uscc FROM fact WHERE kind = 'penalty' AND subject_uscc IS NOT NULL ORDER BY id LIMIT 1"
        ).scalar()
    with engine.begin() as conn:
        row = batch.regrade(conn, champion, uscc, AS_OF, actor="test", why="repair approved")
    with engine.connect() as conn:
        stored = batch.latest_grade(conn, uscc, AS_OF)
        audit = conn.exec_driver_sql(
            "SELECT actor, detail_json FROM audit_log WHERE action = 'regrade' ORDER BY id"
        ).all()
    assert stored["batch_id"] == row["batch_id"] and stored["grade"] == row["grade"]
    assert audit[-1][0] == "test" and json.loads(audit[-1][1])["why"] == "repair approved"
    codes = batch.explain(settings, stored)
    assert codes and codes[0]["kind"] == "model" and codes[0]["contribution"] > 0
    assert {c["code"] for c in codes} <= set(champion.model.columns_)
    # a few rows are predicted on one thread, a batch on the model's threads: the same numbers
    one = np.array([[np.nan if v is None else v for v in json.loads(stored["features_json"])]], dtype=float)
    many = np.repeat(one, FEW_ROWS, axis=0)
    np.testing.assert_allclose(champion.model.contributions(one)[0], champion.model.contributions(many)[-1])
    np.testing.assert_allclose(champion.model.raw_proba(one)[0], champion.model.raw_proba(many)[-1])
    with pytest.raises(LookupError), engine.begin() as conn:
        batch.regrade(conn, champion, "91230102MA0000000X", AS_OF, actor="test", why="unknown")


def test_the_stored_vector_is_the_model_s_columns_whatever_the_frame_s_order(province, champion) -> None:
    engine, _ = province
    with engine.connect() as conn:
        features = features_as_of(load_history(conn, AS_OF, AS_OF), AS_OF).head(25)
    rows = batch.grade_frame(features[features.columns[::-1]], champion, AS_OF)
    stored = np.array([[np.nan if v is None else v for v in json.loads(j)] for j in rows["features_json"]], dtype=float)
    np.testing.assert_allclose(stored, features[champion.model.columns_].to_numpy(dtype=float), rtol=1e-6)


def test_an_analyst_table_trains_with_folds_and_never_becomes_the_champion(province, tmp_path: Path) -> None:
    _, settings = province
    rng = pd.Series(range(600))
    table = pd.DataFrame(
        {
            "id": rng,
            "x": rng % 7,
            "sector": (rng % 3).map({0: "食品", 1: "药品", 2: "其他"}),
            "bad": ((rng % 7 > 3) ^ (rng % 11 == 0)).astype(int),
        }
    )
    path = tmp_path / "mine.csv"
    table.to_csv(path, index=False)
    champion_before = registry.alias_version(settings, "champion")
    report, found = lifecycle.train_on_table(settings, path, "bad", "id", folds=3)
    cv = found.cv
    # the logged validation figures are the folds' held-out ones, pooled, not the final model's own rows
    assert cv["cv_auc_mean"] > 0.8 and abs(report.metrics["valid_auc"] - cv["cv_auc_mean"]) < 0.02
    assert report.metrics["valid_auc"] < report.metrics["train_auc"]
    registered = registry.client(settings).get_model_version(registry.ANALYST_MODEL_NAME, report.version)
    assert "challenger" in registered.aliases and registry.alias_version(settings, "champion") == champion_before
    with pytest.raises(ValueError, match="no column nope"):
        lifecycle.train_on_table(settings, path, "nope")
    with pytest.raises(ValueError, match="must hold exactly two values, it holds 7"):
        lifecycle.train_on_table(settings, path, "x")


def test_an_analyst_model_codes_its_categories_itself_after_a_reload(province, tmp_path: Path) -> None:
    import mlflow.pyfunc

    _, settings = province
    rng = np.random.default_rng(3)
    sector = rng.choice(["食品", "药品", "其他"], 900)
    zone = rng.choice(["1", "2", "特区"], 900)
    risk = np.where(sector == "药品", 0.6, 0.1) + np.where(zone == "1", 0.3, 0.0)
    table = pd.DataFrame(
        {"x": rng.normal(size=900), "sector": sector, "zone": zone, "bad": (rng.random(900) < risk).astype(int)}
    )
    table.to_csv(tmp_path / "sectors.csv", index=False)
    report, _ = lifecycle.train_on_table(settings, tmp_path / "sectors.csv", "bad", folds=3)
    registry.client(settings)  # points mlflow at this province's tracking store
    loaded = mlflow.pyfunc.load_model(f"models:/{registry.ANALYST_MODEL_NAME}/{report.version}")
    rows = pd.DataFrame({"x": [0.0] * 5, "sector": ["药品", "食品", "其他", "新行业", None], "zone": ["1"] * 5})
    p = loaded.predict(rows)
    assert p[0] > p[1] + 0.3 and p[0] > p[2] + 0.3  # the table's category, not an integer code, drives it
    # a category never seen and a missing one score alike, as missing
    assert p[3] == pytest.approx(p[4])
    model = loaded.unwrap_python_model().model
    np.testing.assert_allclose(model.predict_proba(rows)[:, 1], p)
    # codes that arrive as numbers (a blank made a column of 1s into 1.0) still name their category
    np.testing.assert_allclose(model.risk(rows.assign(zone=1.0)), p)
    assert (model.risk(rows.assign(zone="2")) < p - 0.1).all()  # and the zone counts


def test_the_logged_brier_is_of_rows_the_calibrator_never_saw() -> None:
    from credit_engine.scoring import metrics
    from credit_engine.scoring.models import RiskModel
    from credit_engine.scoring.training import TrainingSet

    rng = np.random.default_rng(5)

    def rows(n: int, entities: int) -> TrainingSet:
        # noise: no column says anything of the outcome, so any skill is overfitting
        X = pd.DataFrame(
            rng.normal(size=(n, 3)),
            columns=["a", "b", "c"],
            index=pd.Index([f"E{i % entities}" for i in range(n)], name="uscc"),
        )
        return TrainingSet(X, (rng.random(n) < 0.3).astype(int), np.ones(n), np.zeros(n))

    train, valid = rows(2000, 2000), rows(300, 60)
    model = RiskModel(n_estimators=40, min_child_samples=20).fit(
        train.X, train.y, train.weight, calibration=(valid.X, valid.y, valid.weight)
    )
    in_sample = metrics.brier(valid.y, model.risk(valid.X))
    held = model.held_out_proba(valid.X, valid.y, valid.weight, valid.X.index.to_numpy())
    assert metrics.brier(valid.y, held) > in_sample
    alone = valid.X.index.to_numpy() == "E0"  # every problem in one entity: nothing to judge it on
    lonely = TrainingSet(valid.X, alone.astype(int), valid.weight, valid.as_of)
    with pytest.raises(ValueError, match="at least 2 entities"):
        model.held_out_proba(lonely.X, lonely.y, lonely.weight, valid.X.index.to_numpy())
    # an entity's rows are held out together: one calibrator (a line in log-odds) for all of them,
    # and one calibrator a fold
    logit = lambda q: np.log(q / (1 - q))
    frame = pd.DataFrame({"e": valid.X.index, "raw": logit(model.raw_proba(valid.X)), "p": logit(held)})

    def line(g: pd.DataFrame) -> pd.Series:
        slope, intercept = np.polyfit(g["raw"], g["p"], 1)
        return pd.Series(
            {
                "slope": slope,
                "intercept": intercept,
                "off": float(np.max(np.abs(g["p"] - slope * g["raw"] - intercept))),
            }
        )

    lines = frame.groupby("e")[["raw", "p"]].apply(line)
    assert (lines["off"] < 1e-6).all()
    assert len(lines[["slope", "intercept"]].round(6).drop_duplicates()) == 5

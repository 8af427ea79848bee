"""双随机 draws through the store on every backend: commit then reveal, audit, the blinded
public frame, verification, frequency caps from history, recusal, and results coming back as
facts whose inclusion probabilities become training weights."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from credit_engine.features import load_history
from credit_engine.records import today_in_beijing
from credit_engine.sampling import draw, ledger, results
from credit_engine.sampling.plan import Inspector, Plan, Scope
from credit_engine.sampling.weights import UNIT
from credit_engine.scoring.training import training_set
from credit_engine.settings import Settings
from credit_engine.store.repository import Store, now_utc, stamp
from tests.helpers import make_uscc

AS_OF = date(2026, 6, 30)
AUTHORITIES = {"230102": "道里分局", "230103": "南岗分局"}
GRADES = ["A"] * 24 + ["B"] * 18 + ["C"] * 12 + ["D"] * 6


@pytest.fixture
def store(engine: Engine) -> Engine:
    return seed_store(engine)


def seed_store(engine: Engine) -> Engine:
    """60 operating entities in two districts with grades held on AS_OF, one closed entity,
    and eight inspectors (half from each district's authority)."""
    regions = ["230102" if i % 2 else "230103" for i in range(61)]
    entities = pd.DataFrame(
        {
            "uscc": [make_uscc(i, region=r) for i, r in enumerate(regions)],
            "code_status": "uscc",
            "entity_type": "enterprise",
            "region_code": regions,
            "name": [f"测试企业{i}有限公司" for i in range(61)],
            "industry_code": ["F5211" if i % 3 else "C1310" for i in range(61)],
            "authority": [AUTHORITIES[r] for r in regions],
            "reg_status": ["存续"] * 60 + ["注销"],
            "registered": True,
            "updated_at": stamp(now_utc()),
        }
    )
    grades = pd.DataFrame(
        {
            "batch_id": "b1",
            "uscc": entities["uscc"],
            "as_of": AS_OF.isoformat(),
            "grade": GRADES + ["D"],
            "model_grade": GRADES + ["D"],
            "score": 0.1,
            "reasons_json": "[]",
            "features_json": "[]",
            "model_name": "credit-risk",
            "model_version": "1",
            "rule_set_id": "cn-2025-12-25",
            "graded_at": stamp(now_utc()),
        }
    )
    with engine.begin() as conn:
        Store(conn).insert_frame("entity", entities)
        Store(conn).insert_frame("grade", grades)
        ledger.upsert_inspectors(
            conn,
            [
                Inspector(
                    code=f"I{i}",
                    name=f"检查员{i}",
                    department="哈尔滨市市场监管局",
                    authority=AUTHORITIES["230102" if i % 2 else "230103"],
                )
                for i in range(8)
            ],
            "test",
        )
    return engine


def plan(**changes: object) -> Plan:
    return Plan(
        **{
            "title": "登记事项抽查",
            "item": "企业登记事项检查",
            "departments": ("哈尔滨市市场监管局",),
            "as_of": AS_OF,
            "sample_size": 12,
            **changes,
        }
    )


def committed_and_drawn(engine: Engine, chosen: Plan) -> tuple[int, dict]:
    with engine.begin() as conn:
        stored = ledger.save_plan(conn, chosen, "tester")
        row = ledger.commit(conn, stored.id, "tester")
    with engine.begin() as conn:
        return stored.id, ledger.reveal(conn, row["id"], "tester")


def audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [a for (a,) in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]


def test_a_draw_is_committed_revealed_stored_audited_and_verifiable(store: Engine) -> None:
    with store.begin() as conn:
        stored = ledger.save_plan(conn, plan(), "tester")
        committed = ledger.commit(conn, stored.id, "tester")
    assert committed["status"] == "committed" and committed["frame_size"] == 60  # the closed entity is out
    assert committed["seed_holder"] == "service" and committed["seed"]  # kept secret until the reveal
    with store.connect() as conn:
        published = ledger.frame_bytes(conn, committed["id"])
    assert draw.sha256(published) == committed["frame_hash"]
    assert published.count(b"\n") == 60 and b"91230" not in published  # blinded: no USCC in the public frame

    with store.begin() as conn:
        drawn = ledger.reveal(conn, committed["id"], "tester")
    assert drawn["status"] == "drawn" and draw.commitment(drawn["seed"], drawn["salt"]) == committed["commitment"]
    with store.connect() as conn:
        sample = ledger.sample_of(conn, committed["id"])
        frame = ledger.stored_frame(conn, committed["id"])
        assert ledger.verify_stored(conn, committed["id"]).ok
        assert not ledger.verify_stored(conn, committed["id"], seed="another seed").ok
        with pytest.raises(ledger.DrawStateError, match="only a committed draw"):
            ledger.reveal(conn, committed["id"], "tester")
    assert len(sample) == 12 and sample["draw_order"].tolist() == list(range(1, 13))
    pi = frame.set_index("uscc")["pi_units"]
    assert (sample["pi_units"].to_numpy() == pi[sample["uscc"]].to_numpy()).all()  # each drawn entity keeps its π
    # anyone can check the published parts: commitment, frame hash, each drawn entity in the frame
    opened = list(zip(sample["uscc"], sample["opening"]))
    assert draw.verify_public(
        published, drawn["seed"], drawn["salt"], drawn["commitment"], drawn["frame_hash"], 12, opened
    ).ok
    assert not draw.verify_public(
        published,
        drawn["seed"],
        drawn["salt"],
        drawn["commitment"],
        drawn["frame_hash"],
        12,
        opened[:-1] + [(opened[-1][0], opened[0][1])],
    ).ok  # a wrong opening fails
    # and each drawn entity, with its receipt, that it was drawn with the π it has
    first = sample.iloc[0]
    assert draw.verify_receipt(published, first["uscc"], first["opening"], first["nonce"], first["pi_units"])
    assert not draw.verify_receipt(published, first["uscc"], first["opening"], first["nonce"], first["pi_units"] + 1)
    assert audit_actions(store)[-3:] == ["plan_create", "draw_commit", "draw_reveal"]


def test_a_seed_held_by_the_caller_must_open_the_commitment(store: Engine) -> None:
    seed, salt = "20260701-lottery", "c0ffee"
    with store.begin() as conn:
        stored = ledger.save_plan(conn, plan(), "tester")
        row = ledger.commit(conn, stored.id, "tester", commitment=draw.commitment(seed, salt))
    assert row["seed_holder"] == "client" and row["seed"] is None
    with store.begin() as conn:
        with pytest.raises(ValueError, match="give seed and salt"):
            ledger.reveal(conn, row["id"], "tester")
        with pytest.raises(ValueError, match="do not open the commitment"):
            ledger.reveal(conn, row["id"], "tester", seed="20260702-lottery", salt=salt)
        assert ledger.reveal(conn, row["id"], "tester", seed=seed, salt=salt)["seed"] == seed


def test_scope_filters_regions_industries_and_types(store: Engine) -> None:
    with store.connect() as conn:
        scoped = ledger.population(conn, plan(scope=Scope(regions=("230102",), industries=("F52",))))
        nobody = ledger.population(conn, plan(scope=Scope(entity_types=("cooperative",))))
    assert len(scoped) > 0 and (scoped["region_code"] == "230102").all()
    assert scoped["industry_code"].str.startswith("F52").all() and scoped["uscc"].is_monotonic_increasing
    assert nobody.empty
    with store.begin() as conn, pytest.raises(ValueError, match="no entity is in the plan's scope"):
        ledger.commit(conn, ledger.save_plan(conn, plan(scope=Scope(entity_types=("cooperative",))), "t").id, "t")


def test_drawn_and_inspected_entities_are_capped_by_their_class_frequency(store: Engine, settings: Settings) -> None:
    _, first = committed_and_drawn(store, plan(sample_size=30))
    with store.connect() as conn:
        drawn = set(ledger.sample_of(conn, first["id"])["uscc"])
        weights, _ = ledger.weights_of(conn, ledger.get_plan(conn, first["plan_id"]))
    f = weights.frame.set_index("uscc")
    again = f.loc[sorted(drawn)]
    # drawn in a plan of the same date: A, B, C wait (369, 365, 184 days); D is inspected as needed
    assert (again.loc[again["sampled_as"] != "D", "reason"] == "frequency_cap").all()
    assert (again.loc[again["sampled_as"] == "D", "pi_units"] > 0).all()
    assert (f.loc[sorted(set(f.index) - drawn), "reason"] != "frequency_cap").all()

    # an inspection result counts from when it is known: an A entity inspected 100 days ago,
    # reported now, is capped in a plan of today but not in the plan of AS_OF
    today = today_in_beijing()
    undrawn_a = next(u for u in f.index if u not in drawn and f.loc[u, "sampled_as"] == "A")
    posted = [
        results.InspectionResult(
            uscc=undrawn_a, inspected_on=today - timedelta(days=100), result="未发现问题", inspection_type="定向抽查"
        )
    ]
    checked, problems = _check(store, posted)
    assert not problems
    results.record(store, settings, posted, checked, "tester")
    with store.connect() as conn:

        def weights_on(chosen: Plan) -> ledger.Weights:
            return ledger.weights_of(conn, ledger.StoredPlan(0, chosen, "", "", "", now_utc()))[0]

        then, now = weights_on(plan(sample_size=30)).frame, weights_on(plan(sample_size=30, as_of=today)).frame
        caps_off = weights_on(plan(as_of=today, frequency_caps=False)).frame
    assert then.set_index("uscc").loc[undrawn_a, "reason"] == "policy"
    assert now.set_index("uscc").loc[undrawn_a, "reason"] == "frequency_cap"
    assert (caps_off["pi_units"] > 0).all()


def _check(engine: Engine, rows: list[results.InspectionResult]) -> tuple[list, list]:
    with engine.connect() as conn:
        return results.check(conn, rows, today_in_beijing())


def test_results_come_back_as_facts_with_their_pi_and_weight_training(store: Engine, settings: Settings) -> None:
    _, drawn = committed_and_drawn(store, plan())
    with store.connect() as conn:
        sample = ledger.sample_of(conn, drawn["id"])
    outcomes = ["发现问题已责令改正" if i % 3 == 0 else "未发现问题" for i in range(len(sample))]
    posted = [
        results.InspectionResult(uscc=u, inspected_on=date(2026, 7, 15), result=r, draw_id=drawn["id"])
        for u, r in zip(sample["uscc"], outcomes)
    ]
    checked, problems = _check(store, posted)
    assert not problems
    report = results.record(store, settings, posted, checked, "tester")
    assert report.status == "ingested" and report.facts_new == len(sample) and not report.quarantined
    assert results.record(store, settings, posted, checked, "tester").status == "unchanged"  # idempotent

    with store.connect() as conn:
        facts = pd.read_sql_query(
            "SELECT subject_uscc, category, document_no, authority, detail_json FROM fact "
            "WHERE kind = 'inspection' AND superseded_at IS NULL",
            conn,
        )
    detail = facts["detail_json"].map(json.loads)
    pi = dict(zip(sample["uscc"], sample["pi_units"] / UNIT))
    assert dict(zip(facts["subject_uscc"], detail.map(lambda d: d["inclusion_probability"]))) == pytest.approx(pi)
    assert set(facts["document_no"]) == {f"draw-{drawn['id']}"} and set(facts["authority"]) == {"哈尔滨市市场监管局"}
    assert (facts["category"] == "problem").sum() == outcomes.count("发现问题已责令改正")

    changed = [posted[1].model_copy(update={"result": "未按规定公示应当公示的信息"})]
    assert results.record(store, settings, changed, _check(store, changed)[0], "tester").facts_versioned == 1

    with store.connect() as conn:
        history = load_history(conn, AS_OF, date(2027, 6, 30))
    rows = training_set(history, [AS_OF])
    assert len(rows) == len(sample)
    weight = dict(zip(rows.X.index, rows.weight))
    assert weight == pytest.approx({u: 1 / p for u, p in pi.items()})


def test_results_are_checked_row_by_row(store: Engine) -> None:
    _, drawn = committed_and_drawn(store, plan())
    with store.connect() as conn:
        sample = set(ledger.sample_of(conn, drawn["id"])["uscc"])
        outside = next(u for (u,) in conn.execute(text("SELECT uscc FROM entity ORDER BY uscc")) if u not in sample)
    inside = sorted(sample)[0]
    rows = [
        results.InspectionResult(uscc=outside, inspected_on=date(2026, 7, 1), result="未发现问题", draw_id=drawn["id"]),
        results.InspectionResult(uscc=inside, inspected_on=date(2026, 7, 1), result="还行", draw_id=drawn["id"]),
        results.InspectionResult(uscc=inside, inspected_on=date(2026, 6, 1), result="未发现问题", draw_id=drawn["id"]),
        results.InspectionResult(
            uscc=inside,
            inspected_on=date(2026, 7, 1),
            result="未发现问题",
            draw_id=drawn["id"],
            inclusion_probability=0.5,
        ),
        results.InspectionResult(uscc="91230102MA0000000X", inspected_on=date(2026, 7, 1), result="未发现问题"),
        results.InspectionResult(uscc=inside, inspected_on=date(2026, 7, 1), result="未发现问题", draw_id=999),
        results.InspectionResult(
            uscc=inside, inspected_on=today_in_beijing() + timedelta(days=1), result="未发现问题", draw_id=drawn["id"]
        ),
    ]
    checked, problems = _check(store, rows)
    assert not checked
    got = {(p.row, p.field): p.message for p in problems}
    assert got[(0, "uscc")] == f"{outside} was not drawn in draw {drawn['id']}"
    assert got[(1, "result")].startswith("'还行' is not a known result")
    assert got[(2, "inspected_on")] == f"2026-06-01 is before the plan's date {AS_OF}"
    assert "leave it out" in got[(3, "inclusion_probability")]
    assert "not a unified social credit code" in got[(4, "uscc")] or "no entity" in got[(4, "uscc")]
    assert got[(5, "draw_id")] == "no drawn draw 999"
    assert got[(6, "inspected_on")] == f"{today_in_beijing() + timedelta(days=1)} is in the future"


def test_inspectors_are_recused_across_draws(store: Engine) -> None:
    chosen = plan(sample_size=20, cross_assignment=True, frequency_caps=False)
    _, first = committed_and_drawn(store, chosen)
    _, second = committed_and_drawn(store, chosen)
    with store.connect() as conn:
        a = ledger.sample_of(conn, first["id"]).merge(ledger.population(conn, chosen)[["uscc", "authority"]])
        b = ledger.sample_of(conn, second["id"]).set_index("uscc")
        pool = ledger.inspector_pool(conn).set_index("code")
    for row in a.itertuples():
        assert all(pool.loc[c, "authority"] != row.authority for c in row.inspectors)  # never their own authority
        if row.uscc in b.index:
            assert not set(row.inspectors) & set(b.loc[row.uscc, "inspectors"])  # not the same inspectors again
    loads = pd.Series([c for pair in a["inspectors"] for c in pair]).value_counts()
    for _, same in loads.groupby(pool["authority"]):  # each authority's inspectors serve the other district
        assert same.max() - same.min() <= 1
    assert np.isin(a["uscc"], list(b.index)).sum() > 0  # the recusal of last inspectors was exercised

"""Grading a synthetic province: quality against its hidden truth, and speed of every step.

    python benchmarks/grade.py [--entities 1000000] [--backend sqlite|postgresql] [--postgres URL]
                               [--regrades 200] [--train-rows 1000000] [--seed 7]

Synthesises a province (seed 7 unless told, as of 2026-06-30) and walks the ``demo`` flow on a scratch
store, each stage in its own child process so that each peak RSS is that stage's own:

* ingest  — ``ingest_paths(..., backfill=True)``;
* train   — ``linking.resolve_masked_debtors``, ``train_on_store`` (labels until 2026-06-30), ``promote``;
* grade   — ``grade_all`` with its load/features/score_and_grade/write seconds, a bare
  ``Booster.predict`` on the same feature matrix in the same process, AUC (bootstrap CI) of the
  model on the following year's inspections (``truth/following_year.csv``) beside two naive
  baselines and the ceiling (the knowable probability), mean true risk per class, and the
  latency of ``regrade`` and ``explain`` for single entities;
* fit     — ``RiskModel().fit`` on ``--train-rows`` rows sampled from the population's features.

Targets (acceptance): the model beats both baselines on AUC and the mean true risk rises
strictly from A to D; the grading step no slower than 10x the bare predict; re-grade p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from stores import benchmark_stores

if TYPE_CHECKING:  # the heavy imports happen inside each phase, in its own process
    import numpy as np

    from credit_engine.settings import Settings

AS_OF = date(2026, 6, 30)
SEED = int(os.environ.get("CREDIT_ENGINE_BENCHMARK_SEED", "7"))  # set by --seed, children inherit it
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: The naive "count of list entries" baseline: these features added up.
LIST_ENTRIES = ("abnormal_5y", "serious_active", "court_5y")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(ms: list[float], *qs: int) -> dict[str, float]:
    import numpy as np

    return {f"p{q}": float(np.percentile(ms, q)) for q in qs}


def settings_for(root: Path, url: str) -> Settings:
    """Settings pointing every store (facts, MLflow, model artefacts) into the scratch folder."""
    os.environ.update(
        {
            "CREDIT_ENGINE_VAR_DIR": str(root / "var"),
            "CREDIT_ENGINE_DATABASE_URL": url,
            "CREDIT_ENGINE_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'var' / 'mlflow.db'}",
            "CREDIT_ENGINE_MODEL_DIR": str(root / "models"),
        }
    )
    from credit_engine.settings import get_settings

    get_settings.cache_clear()
    return get_settings()


def phase_ingest(root: Path, url: str) -> dict:
    from credit_engine.ingest import ingest_paths
    from credit_engine.store.db import make_engine, upgrade

    settings = settings_for(root, url)
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    reports = ingest_paths([root / "province" / "sources"], engine, settings, backfill=True)
    return {
        "ingest_s": time.perf_counter() - started,
        "rows": sum(r.rows_read for r in reports),
        "facts": sum(r.facts_new for r in reports),
        "peak_mib": peak_mib(),
    }


def phase_train(root: Path, url: str) -> dict:
    from credit_engine import linking
    from credit_engine.scoring import registry
    from credit_engine.scoring.lifecycle import train_on_store
    from credit_engine.store.db import make_engine

    settings = settings_for(root, url)
    engine = make_engine(url)
    out: dict = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        out["linked"] = linking.resolve_masked_debtors(conn)["linked"]
    out["link_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        report = train_on_store(conn, settings, AS_OF)
    out["train_s"] = time.perf_counter() - started
    started = time.perf_counter()
    registry.promote(settings, report.version)
    out["promote_s"] = time.perf_counter() - started
    out["metrics"] = {k: report.metrics[k] for k in ("n_train", "n_valid", "valid_auc", "scorecard_valid_auc")}
    out["peak_mib"] = peak_mib()
    return out


def soft_auc(p_true: np.ndarray, score: np.ndarray) -> float:
    """AUC against labels drawn Bernoulli(p_true), in expectation: every entity is a positive
    with weight p_true and a negative with weight 1 - p_true (no sampling noise)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    n = len(score)
    return float(
        roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[score, score], sample_weight=np.r_[p_true, 1 - p_true])
    )


def auc_with_ci(y: np.ndarray, score: np.ndarray, resamples: int = 400) -> dict[str, float]:
    """AUC and its 95 % bootstrap interval (entities resampled with replacement, seed fixed)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(SEED)
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, len(y), len(y))
        if 0 < y[pick].sum() < len(pick):
            draws.append(roc_auc_score(y[pick], score[pick]))
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"auc": float(roc_auc_score(y, score)), "low": float(low), "high": float(high)}


def phase_grade(root: Path, url: str, regrades: int) -> dict:
    import pandas as pd

    from credit_engine.features import features_as_of
    from credit_engine.features.spans import span_histories, uscc_spans
    from credit_engine.grading import batch
    from credit_engine.scoring import registry
    from credit_engine.store.db import make_engine

    settings = settings_for(root, url)
    engine = make_engine(url)
    started = time.perf_counter()
    champion = registry.load_champion(settings)
    out: dict = {"load_champion_s": time.perf_counter() - started}

    report = batch.grade_all(engine, settings, AS_OF, champion, actor="benchmark")
    out["grade_seconds"] = report.seconds
    out["counts"] = report.counts
    out["entities"] = sum(report.counts.values())

    # The same feature matrix the batch scored, rebuilt here (not timed) for the bare predict, span
    # by span as the batch reads it: one history of the whole province would not fit at 1 000 000.
    with engine.connect() as conn, tempfile.TemporaryDirectory(dir=root) as folder:
        spans, _ = uscc_spans(conn, batch.PARTITION_SIZE)
        features = pd.concat(
            [features_as_of(h, AS_OF)[h.existing_on(AS_OF)] for h in span_histories(conn, AS_OF, spans, Path(folder))]
        )
    matrix = features[champion.model.columns_].to_numpy(dtype=float)
    bare = []
    for _ in range(3):
        t = time.perf_counter()
        champion.model.booster_.predict(matrix)
        bare.append(time.perf_counter() - t)
    out["bare_predict_s"] = bare
    out["columns"] = matrix.shape[1]
    features.to_parquet(root / "features.parquet")  # the fit phase samples its rows from it

    # Quality against the hidden truth, on the grades the batch stored: the following year's
    # inspections (a census draw the sources never see), with the knowable probability as the ceiling.
    with engine.connect() as conn:
        graded = pd.read_sql_query(
            f"SELECT uscc, grade, model_grade, score FROM grade WHERE batch_id = '{report.batch_id}'", conn
        )
    truth = pd.read_csv(root / "province" / "truth" / "entities.csv", dtype={"uscc": str})
    following = pd.read_csv(root / "province" / "truth" / "following_year.csv", dtype={"uscc": str})
    q = (
        graded.merge(truth, on="uscc")
        .merge(following, on="uscc")
        .merge(features[["penalties_3y", *LIST_ENTRIES]], left_on="uscc", right_index=True)
    )
    scores = {
        "champion: LightGBM probability": q["score"].to_numpy(),
        "champion: final class A-D (with direct judgements)": q["grade"]
        .map({"A": 0, "B": 1, "C": 2, "D": 3})
        .to_numpy(),
        "baseline: penalties_3y": q["penalties_3y"].to_numpy(),
        f"baseline: list entries ({' + '.join(LIST_ENTRIES)})": q[list(LIST_ENTRIES)].sum(axis=1).to_numpy(),
        "ceiling: knowable probability (truth)": q["p_knowable"].to_numpy(),
    }
    found = q["problem"].to_numpy()
    out["matched"] = len(q)
    out["problem_rate"] = float(found.mean())
    out["auc"] = {
        name: auc_with_ci(found, s) | {"soft": soft_auc(q["p_problem"].to_numpy(), s)} for name, s in scores.items()
    }
    out["per_class"] = {
        column: q.groupby(column)
        .agg(n=("uscc", "size"), p_problem=("p_problem", "mean"), latent_risk=("latent_risk", "mean"))
        .to_dict("index")
        for column in ("grade", "model_grade")
    }

    # Single-entity re-grade (each in its own committed transaction; the grade table is
    # append-only) and explain of the grade it returned; a few warm-up calls are not counted.
    sample = random.Random(SEED).sample(list(features.index), min(regrades + 3, len(features)))
    regrade_ms, explain_ms, rows = [], [], []
    for i, uscc in enumerate(sample):
        t = time.perf_counter()
        with engine.begin() as conn:
            row = batch.regrade(conn, champion, uscc, AS_OF, actor="benchmark", why="latency benchmark")
        if i >= 3:
            regrade_ms.append((time.perf_counter() - t) * 1000)
        rows.append(row)
    t = time.perf_counter()
    batch.explain(settings, rows[0])  # loads the model version from MLflow once, then cached
    out["explain_first_ms"] = (time.perf_counter() - t) * 1000
    for row in rows[3:]:
        t = time.perf_counter()
        batch.explain(settings, row)
        explain_ms.append((time.perf_counter() - t) * 1000)
    out["regrade_ms"] = percentiles(regrade_ms, 50, 95, 99) | {"max": max(regrade_ms), "n": len(regrade_ms)}
    out["explain_ms"] = percentiles(explain_ms, 50, 99) | {"n": len(explain_ms)}
    out["peak_mib"] = peak_mib()
    return out


def phase_fit(root: Path, rows: int) -> dict:
    """``rows`` rows drawn (with replacement) from the population's features; labels drawn
    Bernoulli(p_problem) from the truth; a separate 100 000-row sample for the calibration."""
    import numpy as np
    import pandas as pd

    from credit_engine.scoring.models import RiskModel
    from credit_engine.scoring.training import TrainingSet

    features = pd.read_parquet(root / "features.parquet")
    truth = pd.read_csv(root / "province" / "truth" / "entities.csv", dtype={"uscc": str}).set_index("uscc")
    p = truth["p_problem"].reindex(features.index).fillna(truth["p_problem"].mean()).to_numpy()
    rng = np.random.default_rng(SEED)

    def draw(n: int) -> TrainingSet:
        pick = rng.integers(0, len(features), n)
        y = (rng.random(n) < p[pick]).astype(int)
        return TrainingSet(
            features.iloc[pick].reset_index(drop=True), y, np.ones(n), np.zeros(n, dtype="datetime64[D]")
        )

    train, calibration = draw(rows), draw(100_000)
    started = time.perf_counter()
    RiskModel().fit(train.X, train.y, train.weight, calibration=(calibration.X, calibration.y, calibration.weight))
    return {
        "fit_s": time.perf_counter() - started,
        "rows": rows,
        "columns": train.X.shape[1],
        "positives": int(train.y.sum()),
        "peak_mib": peak_mib(),
    }


def child(*args: str) -> dict:
    """One phase in its own process, so that each peak memory is that phase's own."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"phase {args[1]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    global SEED
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL") or POSTGRES_URL,
        help="server for --backend postgresql (a scratch schema is created and dropped)",
    )
    parser.add_argument("--regrades", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED, help="the province's seed (default 7)")
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["ingest", "train", "grade", "fit"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = {
            "ingest": lambda: phase_ingest(args.root, args.url),
            "train": lambda: phase_train(args.root, args.url),
            "grade": lambda: phase_grade(args.root, args.url, args.regrades),
            "fit": lambda: phase_fit(args.root, args.train_rows),
        }[args.phase]
        print(json.dumps(run()))
        return

    from credit_engine.synth import synthesise

    SEED = args.seed
    os.environ["CREDIT_ENGINE_BENCHMARK_SEED"] = str(SEED)
    say = lambda text: print(text, flush=True)  # noqa: E731 - long runs: show each step as it ends
    say(
        f"grade benchmark: {args.entities:,} entities, {args.backend}, as of {AS_OF}, seed {SEED}; "
        f"{os.cpu_count()} CPUs (timings are wall clock; other work on the machine adds noise)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        synthesise(root / "province", entities=args.entities, seed=SEED, as_of=AS_OF)
        say(f"synth  : {time.perf_counter() - started:8.1f} s")
        with benchmark_stores(root, args.postgres if args.backend == "postgresql" else None) as targets:
            url = dict(targets)[args.backend]
            phase = lambda name, *extra: child("--phase", name, "--root", str(root), "--url", url, *extra)  # noqa: E731
            r = phase("ingest")
            say(
                f"ingest : {r['ingest_s']:8.1f} s  {r['rows']:,} rows, {r['facts']:,} facts, backfill  (peak {r['peak_mib']:,.0f} MiB)"
            )
            r = phase("train")
            m = r["metrics"]
            say(f"link   : {r['link_s']:8.1f} s  {r['linked']:,} masked IDs linked")
            say(
                f"train  : {r['train_s']:8.1f} s  train_on_store (36-month spine, LightGBM + scorecard, MLflow log): "
                f"{m['n_train']:,.0f} train rows, {m['n_valid']:,.0f} valid rows, valid AUC {m['valid_auc']:.4f} "
                f"(scorecard {m['scorecard_valid_auc']:.4f})  (peak {r['peak_mib']:,.0f} MiB)"
            )
            say(f"promote: {r['promote_s']:8.1f} s")
            g = phase("grade", "--regrades", str(args.regrades))
            report_grade(g)
            f = phase("fit", "--train-rows", str(args.train_rows))
            say(
                f"\ntraining: RiskModel().fit on {f['rows']:,} rows x {f['columns']} features "
                f"(sampled with replacement from the population's features as of {AS_OF}, labels drawn "
                f"Bernoulli(p_problem), {f['positives']:,} positives; +100 000 calibration rows): "
                f"{f['fit_s']:.1f} s  (peak {f['peak_mib']:,.0f} MiB)"
            )


def report_grade(g: dict) -> None:
    n = g["entities"]
    print(
        f"\n1. Quality on the following year's inspections ({g['matched']:,} graded entities still operating, each "
        f"inspected once in the year after {AS_OF}, truth/following_year.csv; problem rate {g['problem_rate']:.3f})"
    )
    print(
        "   AUC with a 95 % bootstrap interval; soft AUC: against Bernoulli(p_problem) in expectation. Ties count half."
    )
    print(f"   {'score':<66}{'AUC':>8}{'95 % CI':>17}{'soft AUC':>10}")
    for name, a in g["auc"].items():
        print(f"   {name:<66}{a['auc']:>8.4f}   {a['low']:.4f}-{a['high']:.4f}{a['soft']:>10.4f}")
    model = g["auc"]["champion: LightGBM probability"]["auc"]
    ceiling = g["auc"]["ceiling: knowable probability (truth)"]["auc"]
    baselines = [a["auc"] for name, a in g["auc"].items() if name.startswith("baseline")]
    print(
        f"   model beats both baselines: {'PASS' if all(model > b for b in baselines) else 'FAIL'}; "
        f"gap to the ceiling {ceiling - model:.4f} (best baseline's gap {ceiling - max(baselines):.4f})"
    )
    for column, title in (
        ("grade", "final class (after direct judgements)"),
        ("model_grade", "model band (cut-offs only)"),
    ):
        table = g["per_class"][column]
        print(f"   {title}: {'class':>6}{'entities':>11}{'mean p_problem':>16}{'mean latent_risk':>18}")
        for cls in sorted(table):
            c = table[cls]
            print(f"   {'':<{len(title) + 1}} {cls:>6}{c['n']:>11,}{c['p_problem']:>16.4f}{c['latent_risk']:>18.4f}")
        means = [table[c]["p_problem"] for c in sorted(table)]
        risks = [table[c]["latent_risk"] for c in sorted(table)]
        rising = lambda v: all(a < b for a, b in zip(v, v[1:]))  # noqa: E731
        print(
            f"   {'':<{len(title) + 1}} strictly rising A->D: p_problem {'PASS' if rising(means) else 'FAIL'}, "
            f"latent_risk {'PASS' if rising(risks) else 'FAIL'}"
        )

    s = g["grade_seconds"]
    bare = sorted(g["bare_predict_s"])[1]  # median of 3
    work = s["features"] + s["score_and_grade"] + s["write"]
    total = work + s["load"]
    print(
        f"\n2. Grading step, grade_all on {n:,} entities ({', '.join(f'{k} {v:.1f} s' for k, v in s.items())}; "
        f"load_champion {g['load_champion_s']:.1f} s, not included)"
    )
    print(f"   whole batch (load+features+score_and_grade+write): {total:8.2f} s  {n / total:>10,.0f} entities/s")
    print(f"   features+score_and_grade+write                  : {work:8.2f} s  {n / work:>10,.0f} entities/s")
    print(
        f"   bare Booster.predict on the same {n:,} x {g['columns']} matrix (median of 3: "
        f"{', '.join(f'{b:.2f}' for b in g['bare_predict_s'])} s): {bare:.2f} s  {n / bare:,.0f} entities/s"
    )
    print(
        f"   ratio features+score_and_grade+write / bare predict: {work / bare:6.1f}x  (target <= 10x: "
        f"{'PASS' if work / bare <= 10 else 'FAIL'})"
    )
    print(f"   ratio with load included                         : {total / bare:6.1f}x")
    print(f"   ratio score_and_grade alone / bare predict       : {s['score_and_grade'] / bare:6.1f}x")

    r, e = g["regrade_ms"], g["explain_ms"]
    print(
        f"\n3. Single entity, {r['n']} random entities (3 warm-up calls not counted), each its own committed transaction"
    )
    print(
        f"   regrade: p50 {r['p50']:.1f} ms  p95 {r['p95']:.1f} ms  p99 {r['p99']:.1f} ms  max {r['max']:.1f} ms  "
        f"(target p99 < 50 ms: {'PASS' if r['p99'] < 50 else 'FAIL'})"
    )
    print(
        f"   explain: p50 {e['p50']:.2f} ms  p99 {e['p99']:.2f} ms  (first call, loading the model version from "
        f"MLflow: {g['explain_first_ms']:.0f} ms)"
    )
    print(
        f"   grade phase peak {g['peak_mib']:,.0f} MiB (includes this benchmark's own rebuild of the features)",
        flush=True,
    )


if __name__ == "__main__":
    main()

"""The whole batch flow on a synthetic province, step by step: wall time and peak memory.

    python benchmarks/province.py --entities 3000000 [--postgres URL | --sqlite] [--champion DIR]

Synthesises a province (seed 7, as of 2026-06-30) and runs ingest -> link -> build -> grade ->
weights on a scratch store, each step in its own child process so that each peak RSS is that
step's own. The baseline, measured in the same run, is merely reading every source file with
``pandas.read_csv`` / ``read_json``.

Grading needs a champion model. ``--champion DIR`` keeps one (MLflow store and artefacts) in
DIR: the first run trains it on the ingested province (timed, not part of the flow), later runs
reuse it. Without it a model is trained in the scratch folder on every run.

Targets (issue 8), for 3 000 000 entities: the flow under 60 minutes and 16 GiB, grading under
10 minutes. Below 3 000 000 the times are also projected linearly to 3 000 000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grade import AS_OF, POSTGRES_URL, SEED, peak_mib, settings_for
from ingest import phase_read
from stores import benchmark_stores

PROVINCE = 3_000_000
FLOW = ("ingest", "link", "build", "grade", "weights")
TARGET_FLOW_S, TARGET_GRADE_S, TARGET_PEAK_MIB = 3600, 600, 16 * 1024


def settings(root: Path, url: str, champion: Path | None):
    """The scratch settings of ``benchmarks/grade.py``, with the model store in ``champion`` if given."""
    if champion is None:
        return settings_for(root, url)
    settings_for(root, url)
    os.environ["CREDIT_ENGINE_MLFLOW_TRACKING_URI"] = f"sqlite:///{champion.resolve() / 'mlflow.db'}"
    os.environ["CREDIT_ENGINE_MODEL_DIR"] = str(champion.resolve() / "models")
    from credit_engine.settings import get_settings

    get_settings.cache_clear()
    return get_settings()


def phase(step: str, root: Path, url: str, champion: Path | None) -> dict:
    """One step of the flow (``pipelines.flow``, as the CLI runs it); returns what it counted."""
    from credit_engine.store.db import make_engine, upgrade
    from pipelines import flow

    s = settings(root, url, champion)
    engine = make_engine(url)
    run = flow.Run(engine, s, AS_OF, root / "province", actor="benchmark")
    if step == "ingest":
        upgrade(engine)
        reports = flow.ingest(run)
        failed = [f"{r.path.name}: {r.status} {r.error}" for r in reports if r.status in ("failed", "rejected")]
        return {
            "rows": sum(r.rows_read for r in reports),
            "facts": sum(r.facts_new for r in reports),
            "quarantined": sum(r.rows_quarantined for r in reports),
            "files": len(reports),
            "failed": failed,
        }
    if step == "link":
        return flow.link(run)
    if step == "build":
        return {"flags": sum(flow.build(run).values())}
    if step == "train":
        from credit_engine.scoring import registry

        try:
            return {"version": registry.load_champion(s).version, "reused": True}
        except LookupError:
            pass
        return {"version": flow.train(run).version, "reused": False}
    if step == "grade":
        report = flow.grade(run)
        return {
            "entities": sum(report.counts.values()),
            "counts": report.counts,
            "parts": {k: round(v, 1) for k, v in report.seconds.items()},
        }
    if step == "weights":
        from credit_engine.sampling import ledger
        from credit_engine.sampling.plan import load_plan
        from credit_engine.synth.plans import PLAN_FILE

        plan, pool = load_plan(root / "province" / PLAN_FILE)
        with engine.begin() as conn:
            ledger.upsert_inspectors(conn, pool, "benchmark")
            stored = ledger.save_plan(conn, plan, "benchmark")
            weights, people = ledger.weights_of(conn, stored)
        return {"population": len(people)}
    raise ValueError(step)


def child(*args: str) -> dict:
    """One step in its own process, so that each peak memory is that step's own."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"step {args[1]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=PROVINCE)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CREDIT_ENGINE_TEST_POSTGRES_URL") or POSTGRES_URL,
        help="server to run on (a scratch schema is created and dropped)",
    )
    parser.add_argument("--sqlite", action="store_true", help="run on a SQLite file instead of PostgreSQL")
    parser.add_argument("--champion", type=Path, help="folder keeping the champion model between runs")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "read":
        print(json.dumps(phase_read(args.root / "province" / "sources")))
        return
    if args.step == "synth":
        from credit_engine.synth import synthesise

        started = time.perf_counter()
        synthesise(args.root / "province", entities=args.entities, seed=SEED, as_of=AS_OF)
        print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}))
        return
    if args.step:
        started = time.perf_counter()
        out = phase(args.step, args.root, args.url, args.champion)
        print(json.dumps(out | {"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}))
        return

    say = lambda text: print(text, flush=True)  # noqa: E731 - long runs: show each step as it ends
    backend = "sqlite" if args.sqlite else "postgresql"
    say(
        f"province benchmark: {args.entities:,} entities on {backend}, as of {AS_OF}, seed {SEED}; "
        f"{os.cpu_count()} CPUs (wall clock; other work on the machine adds noise)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made = child(
            "--step", "synth", "--root", str(root), "--entities", str(args.entities)
        )  # its memory goes with it
        say(f"synth   {made['seconds']:8.1f} s  peak {made['peak_mib']:7,.0f} MiB  (not part of the flow)")
        with benchmark_stores(root, None if args.sqlite else args.postgres) as targets:
            url = dict(targets)[backend]
            extra = ["--champion", str(args.champion)] if args.champion else []
            run = lambda step: child("--step", step, "--root", str(root), "--url", url, *extra)  # noqa: E731
            base = run("read")
            say(
                f"baseline{base['seconds']:8.1f} s  pandas reads {base['rows']:,} source rows  (peak {base['peak_mib']:,.0f} MiB)"
            )
            results = {}
            for step in FLOW:
                if step == "grade":
                    t = run("train")
                    say(
                        f"train   {t['seconds']:8.1f} s  champion {t['version']} "
                        f"{'reused' if t['reused'] else 'trained on this province'}  (not part of the flow)"
                    )
                r = results[step] = run(step)
                detail = {k: v for k, v in r.items() if k not in ("seconds", "peak_mib", "failed")}
                say(f"{step:<8}{r['seconds']:8.1f} s  peak {r['peak_mib']:7,.0f} MiB  {detail}")
                for line in r.get("failed", []):
                    say(f"        failed file: {line}")
    total = sum(r["seconds"] for r in results.values())
    peak = max(r["peak_mib"] for r in results.values())
    i = results["ingest"]
    scale = PROVINCE / args.entities
    say(f"flow    {total:8.1f} s  ({total / 60:.1f} min), peak {peak:,.0f} MiB of one step")
    say(
        f"ingest: {i['rows']:,} rows -> {i['facts']:,} facts, {i['quarantined']:,} quarantined; "
        f"{i['rows'] / i['seconds']:,.0f} rows/s; ingest / pandas read = {i['seconds'] / base['seconds']:.1f}x the time"
    )
    grade_s = results["grade"]["seconds"]
    say(
        f"targets at {PROVINCE:,} entities"
        + (f" (times projected x{scale:.1f} from {args.entities:,})" if scale > 1 else "")
        + ":"
    )
    say(f"  flow < 60 min : {total * max(scale, 1) / 60:7.1f} min  {verdict(total * max(scale, 1) < TARGET_FLOW_S)}")
    say(
        f"  grade < 10 min: {grade_s * max(scale, 1) / 60:7.1f} min  {verdict(grade_s * max(scale, 1) < TARGET_GRADE_S)}"
    )
    say(
        f"  peak < 16 GiB : {peak / 1024:7.1f} GiB  {verdict(peak < TARGET_PEAK_MIB)}"
        + ("  (measured at this size, not projected)" if scale > 1 else "")
    )


if __name__ == "__main__":
    main()

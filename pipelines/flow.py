"""The whole flow, written once: ``synth → ingest → link → build → train → grade → sweep``.

Each step has one shape, ``step(run: Run) -> report``: it reads what it needs from the run (the
store, the settings, the as-of date, the province folder), does one thing through the core, and
returns the core's own report, which the run keeps under the step's name. The CLI prints those
reports; the demo, the test fixtures, the notebook's test and the benchmarks call the same steps,
so the flow cannot drift between them.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from credit_engine.settings import Settings

#: The demo's order, and the default of ``run``.
STEPS = ("synth", "ingest", "link", "build", "train", "grade", "sweep")


@dataclass
class Run:
    """One pass of the flow: where it works and what each step reported."""

    engine: Engine
    settings: Settings
    as_of: date
    folder: Path  # the synthetic province (``synth`` writes it, ``ingest`` reads its ``sources``)
    entities: int = 3000
    seed: int = 7
    backfill: bool = True  # history loaded after the fact: recorded when it was published
    promote: bool = True  # make the trained model the champion
    actor: str = field(default_factory=lambda: f"cli:{getpass.getuser()}")
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def sources(self) -> Path:
        return self.folder / "sources"


def synth(run: Run) -> Any:
    from credit_engine.synth import synthesise

    return synthesise(run.folder, run.entities, seed=run.seed, as_of=run.as_of)


def ingest(run: Run, on_file: Callable | None = None, on_bytes: Callable[[int], None] | None = None) -> Any:
    from credit_engine.ingest import ingest_paths, source_files

    return ingest_paths(
        source_files([run.sources]),
        run.engine,
        run.settings,
        on_file=on_file,
        actor=run.actor,
        backfill=run.backfill,
        on_bytes=on_bytes,
    )


def link(run: Run) -> dict[str, int]:
    from credit_engine import linking

    with run.engine.begin() as conn:
        return linking.resolve_masked_debtors(conn)


def build(run: Run, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    from credit_engine import linking

    with run.engine.begin() as conn:
        return linking.build(conn, run.as_of, progress=progress)


def train(run: Run) -> Any:
    """Train on the store's history up to the as-of date; promote unless the run says not to."""
    from credit_engine.scoring import lifecycle, registry

    with run.engine.connect() as conn:
        report = lifecycle.train_on_store(conn, run.settings, run.as_of)
    if run.promote:
        registry.promote(run.settings, report.version)
    return report


def grade(run: Run, progress: Callable | None = None) -> Any:
    from credit_engine.grading import batch

    return batch.grade_all(run.engine, run.settings, run.as_of, actor=run.actor, progress=progress)


def sweep(run: Run) -> Any:
    from credit_engine.workflows import sweep as publicity

    return publicity.sweep(run.engine, run.as_of, actor=run.actor)


STEP_FUNCTIONS: dict[str, Callable[[Run], Any]] = {
    "synth": synth,
    "ingest": ingest,
    "link": link,
    "build": build,
    "train": train,
    "grade": grade,
    "sweep": sweep,
}


def run(flow: Run, steps: Iterable[str] = STEPS, after: Callable[[str, Any], None] | None = None) -> Run:
    """Run ``steps`` in order, keeping each report in ``flow.reports``; ``after(step, report)``
    is told each one as it ends (the CLI prints it)."""
    for name in steps:
        if name not in STEP_FUNCTIONS:
            raise ValueError(f"unknown step {name!r}: one of {', '.join(STEP_FUNCTIONS)}")
        flow.reports[name] = STEP_FUNCTIONS[name](flow)
        if after is not None:
            after(name, flow.reports[name])
    return flow

"""Inspection results back from inspection systems, as facts: next year's training labels.

Posted results are written as a file of the inspection kind (DATA_CONTRACT: 统一社会信用代码,
检查结果, 入选概率 …) and ingested like any other file: archived by content hash, idempotent, a
changed result versioned. A result of a draw carries the inclusion probability the draw gave the
entity (its training weight is 1/π); the caller cannot set another. Rows are checked first, so a
bad row refuses the whole post with a message naming the row and the field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, bindparam, text

from credit_engine.identifiers import CodeKind, classify_code
from credit_engine.ingest import FileReport, ingest_file
from credit_engine.sampling.plan import Line, Plan
from credit_engine.sampling.weights import DECIMALS, UNIT
from credit_engine.settings import Settings
from credit_engine.sources.kinds import INSPECTION
from credit_engine.sources.supervision import INSPECTION_OUTCOMES, INSPECTION_TYPES


class InspectionResult(BaseModel):
    uscc: Line = Field(min_length=1, max_length=40, examples=["91230103MA1BXXXX0Y"])
    inspected_on: date = Field(ge=date(2000, 1, 1))
    result: Line = Field(
        min_length=1, max_length=60, description="a result text of the national system", examples=["未发现问题"]
    )
    inspection_type: Line = Field("双随机抽查", max_length=20, examples=["双随机抽查"])
    draw_id: int | None = Field(
        None, ge=1, le=2**53, description="the draw that selected the entity: its π is recorded"
    )
    task_no: Line | None = Field(None, max_length=64, description="default: draw-<draw_id>")
    authority: Line | None = Field(
        None, max_length=100, description="检查实施机关; default: the plan's first department"
    )
    inclusion_probability: float | None = Field(None, gt=0, le=1, description="only for results outside a draw")


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class Checked:
    uscc: str
    name: str | None
    task_no: str
    authority: str | None
    inclusion_probability: str


def check(conn: Connection, results: list[InspectionResult], today: date) -> tuple[list[Checked], list[Problem]]:
    """Validate every row against the identifiers, the vocabularies and the draws."""
    codes = [classify_code(r.uscc) for r in results]
    known: dict[str, str | None] = dict(
        conn.execute(
            text("SELECT uscc, name FROM entity WHERE uscc IN :u").bindparams(bindparam("u", expanding=True)),
            {"u": sorted({c.value for c in codes}) or [""]},
        ).all()
    )
    draw_ids = sorted({r.draw_id for r in results if r.draw_id is not None})
    draws = {
        row.id: row
        for row in conn.execute(
            text(
                "SELECT d.id, d.status, p.as_of, p.plan_json FROM inspection_draw d JOIN inspection_plan p ON p.id = d.plan_id "
                "WHERE d.id IN :d"
            ).bindparams(bindparam("d", expanding=True)),
            {"d": draw_ids or [0]},
        ).all()
    }
    drawn = {
        (d, u): pi
        for d, u, pi in conn.execute(
            text("SELECT draw_id, uscc, pi_units FROM inspection_sample WHERE draw_id IN :d").bindparams(
                bindparam("d", expanding=True)
            ),
            {"d": draw_ids or [0]},
        ).all()
    }
    checked: list[Checked] = []
    problems: list[Problem] = []
    for i, (r, code) in enumerate(zip(results, codes, strict=True)):
        before = len(problems)
        if code.kind not in (CodeKind.USCC, CodeKind.USCC_CHECK_FAILED):
            problems.append(Problem(i, "uscc", f"{r.uscc!r} is not a unified social credit code: {code.reason}"))
        elif code.value not in known:
            problems.append(Problem(i, "uscc", f"no entity {code.value} in the store"))
        if r.result.strip() not in INSPECTION_OUTCOMES:
            problems.append(
                Problem(i, "result", f"{r.result!r} is not a known result; one of: " + ", ".join(INSPECTION_OUTCOMES))
            )
        if r.inspection_type not in INSPECTION_TYPES:
            problems.append(
                Problem(i, "inspection_type", f"{r.inspection_type!r} is not one of " + ", ".join(INSPECTION_TYPES))
            )
        if r.inspected_on > today:
            problems.append(Problem(i, "inspected_on", f"{r.inspected_on} is in the future"))
        pi_units, authority = None, r.authority
        if r.draw_id is not None:
            d = draws.get(r.draw_id)
            if d is None or d.status != "drawn":
                problems.append(Problem(i, "draw_id", f"no drawn draw {r.draw_id}"))
            else:
                pi_units = drawn.get((r.draw_id, code.value))
                if pi_units is None:
                    problems.append(Problem(i, "uscc", f"{code.value} was not drawn in draw {r.draw_id}"))
                if r.inclusion_probability is not None:
                    problems.append(
                        Problem(i, "inclusion_probability", "a draw's result carries the π the draw gave: leave it out")
                    )
                as_of = d.as_of if isinstance(d.as_of, date) else date.fromisoformat(str(d.as_of))
                if r.inspected_on < as_of:
                    problems.append(Problem(i, "inspected_on", f"{r.inspected_on} is before the plan's date {as_of}"))
                if authority is None:
                    authority = Plan.model_validate_json(d.plan_json).departments[0]
        if len(problems) > before:
            continue
        pi = (
            f"{pi_units // UNIT}.{pi_units % UNIT:0{DECIMALS}d}"
            if pi_units is not None
            else ""
            if r.inclusion_probability is None
            else repr(r.inclusion_probability)
        )
        task = r.task_no or (f"draw-{r.draw_id}" if r.draw_id is not None else "")
        checked.append(Checked(code.value, known.get(code.value), task, authority, pi))
    return checked, problems


def as_file(results: list[InspectionResult], checked: list[Checked]) -> bytes:
    """The rows as an inspection-results file of the data contract (UTF-8 CSV)."""
    labels = {c.name: c.chinese[0] for c in INSPECTION.columns}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    order = (
        "uscc",
        "name",
        "task_no",
        "authority",
        "inspection_type",
        "inspected_on",
        "result",
        "inclusion_probability",
    )
    writer.writerow([labels[c] for c in order])
    for r, c in zip(results, checked, strict=True):
        writer.writerow(
            [
                c.uscc,
                c.name or "",
                c.task_no,
                c.authority or "",
                r.inspection_type,
                r.inspected_on.isoformat(),
                r.result.strip(),
                c.inclusion_probability,
            ]
        )
    return buffer.getvalue().encode()


def record(
    engine: Engine, settings: Settings, results: list[InspectionResult], checked: list[Checked], actor: str
) -> FileReport:
    """Ingest checked results (see the module docstring); the same rows twice change nothing."""
    data = as_file(results, checked)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"inspection-results-{hashlib.sha256(data).hexdigest()[:16]}.csv"
        path.write_bytes(data)
        return ingest_file(path, engine, settings, actor)

"""A 双随机 inspection plan for the synthetic province, with its inspector pool (执法检查人员名录库).

The pool is a real input of the draw: cross-assignment and recusal need each inspector's
registration authority, so the inspectors belong to the same authorities as the entities.
Written as the TOML that ``credit-engine sample --plan`` reads.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from . import vocab
from .ids import stream
from .regions import region_table

CITY = "2301"  # 哈尔滨市: the plan's scope
PER_AUTHORITY = 4
PLAN_FILE = "plans/harbin_registration_check.toml"


def _inspector_names(rng: np.random.Generator, n: int) -> list[str]:
    weights = np.asarray(vocab.SURNAME_WEIGHTS) / sum(vocab.SURNAME_WEIGHTS)
    surnames = rng.choice(list(vocab.SURNAMES), n, p=weights)
    given = rng.choice(list(vocab.GIVEN_MALE + vocab.GIVEN_FEMALE), (n, 2))
    return [s + "".join(g) for s, g in zip(surnames, given)]


def write_plan(out_dir: Path, seed: int, as_of: date) -> dict[str, int]:
    """The plan file (path relative to ``out_dir`` -> number of inspectors)."""
    reg = region_table()
    authorities = sorted({a for c, a in zip(reg.code, reg.authority) if c.startswith(CITY)})
    city_authority = next(a for c, a in zip(reg.code, reg.authority) if c == CITY + "00")
    names = _inspector_names(stream(seed, "plans:inspectors"), PER_AUTHORITY * len(authorities))
    quarter = (as_of.month - 1) // 3 + 1
    lines = [
        f"title = {json.dumps(f'{as_of.year}年第{quarter}季度哈尔滨市企业登记事项双随机抽查', ensure_ascii=False)}",
        'item = "企业登记事项检查"',
        f"departments = [{json.dumps(city_authority, ensure_ascii=False)}]",
        f"as_of = {as_of.isoformat()}",
        "cross_assignment = true",
        "",
        "[scope]",
        f'regions = ["{CITY}"]',
    ]
    for i, name in enumerate(names):
        lines += [
            "",
            "[[inspectors]]",
            f'code = "HRB-{i + 1:04d}"',
            f"name = {json.dumps(name, ensure_ascii=False)}",
            f"department = {json.dumps(city_authority, ensure_ascii=False)}",
            f"authority = {json.dumps(authorities[i // PER_AUTHORITY], ensure_ascii=False)}",
        ]
    path = Path(out_dir) / PLAN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {PLAN_FILE: len(names)}

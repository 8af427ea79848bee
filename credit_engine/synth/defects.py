"""Injection of the real-file defects of DATA_CONTRACT.md, at low deterministic rates.

Every function picks its rows with the table's own random stream and records how many rows it
changed, so the ingest tests can expect exact counts. Pilot-code entities are never touched:
their (check-digit-failing) USCC must stay identical across all files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import ids
from .dates import NA_DAY, NO_PERIOD, SENTINELS, SHAPES, format_days

NULL_SPELLINGS = ("/", "无", "暂无", "null", "\n")
PLACEHOLDERS = ("00000000000000000X", "123456789012345678")
RATES = {
    "uscc_case_space": 0.01,
    "uscc_old_regno": 0.007,
    "uscc_org_code": 0.007,
    "uscc_placeholder": 0.003,
    "uscc_masked": 0.01,
    "id_masked": 0.03,
    "date_shape": 0.015,
    "date_sentinel": 0.03,
    "null_spelling": 0.015,
    "money_text": 0.015,
    "category_text": 0.1,
    "legal_forms": 0.02,
    "bad": 0.001,
    # typing errors in a USCC (issue 39): placed on the registered entity, or waiting without the name
    "uscc_typo_check": 0.002,
    "uscc_typo_named": 0.002,
    "uscc_typo_unnamed": 0.001,
    "uscc_transposed": 0.002,
    "reg_status_spelling": 0.2,
}
#: Columns naming a row's party, blanked by ``uscc_typo_unnamed``.
NAME_COLUMNS = ("CF_XDR_MC", "XK_XDR_MC", "行政相对人名称", "企业名称", "纳税人名称")
#: The long spellings of 登记状态 some exports use, for the short ones the world holds.
STATUS_SPELLINGS = {"存续": "存续（在营、开业、在册）", "吊销": "吊销，未注销"}
#: Files whose party is always an entity with its name beside its code (no persons, no registration).
TYPO_KINDS = ("penalty_v1", "penalty_v2", "licence_v1", "licence_v2", "abnormal", "serious", "tax", "inspection")


@dataclass
class Table:
    """One source file before writing: column arrays (date columns as day numbers) plus what
    the defect injectors need to know about it."""

    path: str
    kind: str  # the contract's source kind, plus the layout version where two exist
    columns: dict[str, np.ndarray]
    entity: np.ndarray  # entity index per row, -1 where the row names no entity
    encoding: str
    dates: dict[str, str] = field(default_factory=dict)  # date column -> base shape
    key_dates: tuple[str, ...] = ()  # date columns that get variant shapes
    end_dates: tuple[str, ...] = ()  # date columns where "none" may be a sentinel
    optional: tuple[str, ...] = ()  # columns whose nulls may be spelled out
    uscc: str | None = None
    uscc_defects: tuple[str, ...] = ()
    quote_all: bool = False
    crlf: bool = False
    jsonl: bool = False
    bad_lines: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.entity)


def present(values: np.ndarray) -> np.ndarray:
    """Which cells hold a value, as booleans even for an empty column (``np.array([])`` would be
    float, and ``&`` with it fails: a small province has files with no rows)."""
    return np.fromiter((v is not None for v in values), dtype=bool, count=len(values))


def pick(rng: np.random.Generator, eligible: np.ndarray, rate: float) -> np.ndarray:
    """Sorted row numbers: ``rate`` of the eligible rows, at least one if there are 20 or more."""
    rows = np.flatnonzero(eligible)
    k = int(round(rate * len(rows)))
    if k == 0 and len(rows) >= 20:
        k = 1
    return np.sort(rng.choice(rows, size=min(k, len(rows)), replace=False))


def corrupt_uscc(
    t: Table, rng: np.random.Generator, pilot: np.ndarray, org: np.ndarray, regno: np.ndarray, log: Counter
) -> None:
    """Defects 1–4 on the USCC column: case/spaces, old codes, placeholders, masks."""
    assert t.uscc is not None  # called for tables with a USCC column only
    col = t.columns[t.uscc]
    base = (t.entity >= 0) & ~pilot[np.maximum(t.entity, 0)] & present(col)
    free = base.copy()
    for name in t.uscc_defects:
        eligible = free.copy()
        if name == "uscc_old_regno":
            eligible &= present(regno[np.maximum(t.entity, 0)])
        rows = pick(rng, eligible, RATES[name])
        free[rows] = False
        values = col[rows]
        if name == "uscc_case_space":
            spaced = rng.random(len(rows)) < 0.5
            values = np.array(
                [v[:2] + " " + v[2:8] + " " + v[8:] if s else v.lower() for v, s in zip(values, spaced)], dtype=object
            )
        elif name == "uscc_old_regno":
            values = regno[t.entity[rows]]
        elif name == "uscc_org_code":
            codes = org[t.entity[rows]]
            dashed = rng.random(len(rows)) < 0.3
            values = np.array([c[:8] + "-" + c[8] if d else c for c, d in zip(codes, dashed)], dtype=object)
        elif name == "uscc_placeholder":
            values = np.array(PLACEHOLDERS, dtype=object)[np.arange(len(rows)) % 2]
        elif name == "uscc_masked":
            values = ids.mask_uscc(values, rng)
        col[rows] = values
        log[name] += len(rows)
    log["uscc_pilot"] += int((pilot[np.maximum(t.entity, 0)] & (t.entity >= 0)).sum())
    if t.kind in TYPO_KINDS:
        mistype_uscc(t, free, log, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]))  # type: ignore[attr-defined]  # numpy stub: default_rng's SeedSequence spawns


def _mistyped(code: str, how: str, rng: np.random.Generator) -> str:
    """``code`` with one typing error: another check character, another character of the body
    (organisation code), or two different neighbours of the body swapped."""
    if how == "uscc_typo_check":
        return code[:17] + rng.choice([c for c in ids.USCC_ALPHABET if c != code[17]])
    if how == "uscc_transposed":
        spots = [i for i in range(8, 16) if code[i] != code[i + 1]]
        i = int(rng.choice(spots))
        return code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    i = int(rng.integers(8, 17))
    return code[:i] + rng.choice([c for c in ids.USCC_ALPHABET if c != code[i]]) + code[i + 1 :]


def mistype_uscc(t: Table, free: np.ndarray, log: Counter, rng: np.random.Generator) -> None:
    """Typing errors in the USCC of registered entities (RULES.md §6): each fails the check digit
    and names the entity by its check character, or by one character or a transposition with the
    row's name beside it; ``uscc_typo_unnamed`` blanks the name, so that the row must wait. A
    separate random stream: the other defects of the file stay as they were."""
    assert t.uscc is not None  # called from corrupt_uscc
    col = t.columns[t.uscc]
    name = next((c for c in NAME_COLUMNS if c in t.columns), None)
    if name is None:
        return
    for how in ("uscc_typo_check", "uscc_typo_named", "uscc_typo_unnamed", "uscc_transposed"):
        eligible = free & present(t.columns[name])
        rows = pick(rng, eligible, RATES[how])
        free[rows] = False
        col[rows] = np.array([_mistyped(v, how, rng) for v in col[rows]], dtype=object)
        if how == "uscc_typo_unnamed":
            t.columns[name][rows] = None
        log[how] += len(rows)


def spell_statuses(t: Table, rng: np.random.Generator, log: Counter) -> None:
    """Defect 11: 登记状态 in the long spellings of some exports (存续（在营、开业、在册）, 吊销，未注销)."""
    col = t.columns["登记状态"]
    rows = pick(rng, np.isin(col, list(STATUS_SPELLINGS)), RATES["reg_status_spelling"])
    col[rows] = np.array([STATUS_SPELLINGS[v] for v in col[rows]], dtype=object)
    log["reg_status_spelling"] += len(rows)


def mask_person_ids(t: Table, column: str, rng: np.random.Generator, log: Counter) -> None:
    """Defect 4 for people (rows naming no entity): region-only and portal-style masks."""
    rows = pick(rng, t.entity < 0, RATES["id_masked"])
    col = t.columns[column]
    portal = np.arange(len(rows)) % 2 == 0
    col[rows[portal]] = ids.mask_id_portal(col[rows[portal]])
    col[rows[~portal]] = ids.mask_id_region(col[rows[~portal]])
    log["id_masked"] += len(rows)


def add_legal_forms(
    t: Table,
    columns: tuple[str, str, str | None],
    org: np.ndarray,
    regno: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    log: Counter,
) -> None:
    """Defect 10: old registration number, organisation code (and tax number) beside the USCC."""
    reg_col, org_col, tax_col = columns
    has_old = (t.entity >= 0) & present(regno[np.maximum(t.entity, 0)])
    rows = pick(rng, has_old, RATES["legal_forms"])
    e = t.entity[rows]
    t.columns[reg_col][rows] = regno[e]
    t.columns[org_col][rows] = org[e]
    if tax_col:
        t.columns[tax_col][rows] = region[e] + org[e]
    log["legal_forms"] += len(rows)


def format_dates(t: Table, rng: np.random.Generator, log: Counter, no_period: bool = False) -> None:
    """Defect 6: each date column in the file's shape, some rows in other shapes, and
    "none" sentinels in end-date columns (``no_period`` adds 无处罚期限, a penalty's wording)."""
    for column, shape in t.dates.items():
        days = t.columns[column]
        text = format_days(days, shape, rng)
        if column in t.key_dates:
            rows = pick(rng, days != NA_DAY, RATES["date_shape"])
            others = [s for s in SHAPES if s != shape]
            choice = rng.integers(0, len(others), len(rows))
            for k, other in enumerate(others):
                sel = rows[choice == k]
                text[sel] = format_days(days[sel], other, rng)
            log["date_shape"] += len(rows)
        if column in t.end_dates:
            rows = pick(rng, days == NA_DAY, RATES["date_sentinel"])
            options = SENTINELS + ((NO_PERIOD,) * 3 if no_period else ())
            text[rows] = np.array(options, dtype=object)[rng.integers(0, len(options), len(rows))]
            log["date_sentinel"] += len(rows)
        t.columns[column] = text


def spell_nulls(t: Table, rng: np.random.Generator, log: Counter) -> None:
    """Defect 7: empty optional cells written as '/', '无', '暂无', 'null' or a lone newline;
    in quote-all files every remaining null is written as ``""``."""
    touched = np.zeros(len(t), dtype=bool)
    protected = np.zeros(len(t), dtype=bool)
    protected[t.bad_lines] = True
    for column in t.optional:
        col = t.columns[column]
        empty = ~present(col) & ~protected
        rows = pick(rng, empty, RATES["null_spelling"])
        col[rows] = np.array(NULL_SPELLINGS, dtype=object)[rng.integers(0, len(NULL_SPELLINGS), len(rows))]
        touched[rows] = True
    log["null_spelling"] += int(touched.sum())
    if t.quote_all:
        any_null = np.zeros(len(t), dtype=bool)
        for col in t.columns.values():
            any_null |= ~present(col)
        log["null_quoted"] += int(any_null.sum())


def choose_bad_lines(t: Table, rng: np.random.Generator, log: Counter) -> None:
    """Rows written with one field too many or too few (quarantine material)."""
    rows = pick(rng, np.ones(len(t), dtype=bool), RATES["bad"])
    if len(rows) == 0 and len(t):
        rows = np.array([len(t) // 2])
    t.bad_lines = rows
    log["bad_field_count"] += len(rows)


def money_as_text(
    t: Table,
    column: str,
    amount: np.ndarray,
    eligible: np.ndarray,
    forms: tuple[str, ...],
    rng: np.random.Generator,
    log: Counter,
) -> None:
    """Defect 8: fines written as text (``罚款2000元``, ``罚款金额:0.8万元``, plain yuan).
    ``forms`` are format strings over ``yuan`` (int) and ``wan`` (10 000 yuan)."""
    rows = pick(rng, eligible, RATES["money_text"])
    form = np.arange(len(rows)) % len(forms)  # alternate, so every form shows up
    t.columns[column][rows] = np.array(
        [forms[f].format(yuan=int(amount[r]), wan=f"{amount[r] / 10_000:g}") for r, f in zip(rows, form)],
        dtype=object,
    )
    log["money_text"] += len(rows)


def category_as_text(t: Table, column: str, names: dict[str, str], rng: np.random.Generator, log: Counter) -> None:
    """Defect 9: a coded category (``01``) written as its text (``普通``) in some rows."""
    col = t.columns[column]
    rows = pick(rng, present(col), RATES["category_text"])
    col[rows] = np.array([names[v] for v in col[rows]], dtype=object)
    log["category_text"] += len(rows)


def impossible_dates(t: Table, column: str, years: np.ndarray, rng: np.random.Generator, log: Counter) -> None:
    """Quarantine material: 30 February of the row's own year."""
    rows = pick(rng, np.ones(len(t), dtype=bool), RATES["bad"])
    t.columns[column][rows] = np.array([f"{y}-02-30" for y in years[rows]], dtype=object)
    log["bad_date"] += len(rows)

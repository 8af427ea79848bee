"""Tax credit grades, inspection results, credit commitments and complaints."""

from __future__ import annotations

import pandas as pd

from credit_engine.sources.assemble import Context, Source, assemble
from credit_engine.sources.batch import Batch, Rejects
from credit_engine.sources.clean import fold_fullwidth
from credit_engine.sources.fields import add_flag, dated, entity_stubs, key_part, optional, required_text, rule_ids

TAX_GRADES = ("A", "B", "M", "C", "D")

#: GSXT inspection result texts -> outcome. "problem" results are next year's training labels.
INSPECTION_OUTCOMES = {
    "未发现问题": "ok",
    "未发现企业存在不符合规定情形": "ok",
    "未发现开展本次抽查涉及的经营活动": "not_applicable",
    "未按规定公示应当公示的信息": "problem",
    "公示信息隐瞒真实情况弄虚作假": "problem",
    "通过登记的住所(经营场所)无法联系": "problem",
    "通过登记的住所或者经营场所无法联系": "problem",
    "发现问题已责令改正": "problem",
    "不配合检查情节严重": "problem",
    "发现问题待后续处理": "problem",
}
INSPECTION_TYPES = ("双随机抽查", "定向抽查", "专项检查", "投诉举报核查")


def _subjects(source: Source, ctx: Context, rejects: Rejects):
    name_column = "name" if "name" in source.frame else None
    return ctx.resolver.resolve(
        source.frame, rejects, "uscc", source.label("uscc"), name_column=name_column, alt_columns=()
    )


def tax(source: Source, ctx: Context) -> Batch:
    rejects = Rejects()
    subjects = _subjects(source, ctx, rejects)
    year = pd.to_numeric(
        fold_fullwidth(required_text(source, "year", rejects)).str.extract(r"^(\d{4})")[0], errors="coerce"
    )
    rejects.add(
        year.isna() | (year < 2000) | (year > 2100),
        "bad_year",
        f"{source.label('year')}: '" + optional(source, "year").fillna("") + "' is not an evaluation year",
    )
    grade = fold_fullwidth(required_text(source, "grade", rejects)).str.upper().str.strip("级 ")
    rejects.add(
        grade.notna() & ~grade.isin(TAX_GRADES),
        "bad_grade",
        f"{source.label('grade')}: '" + optional(source, "grade").fillna("") + "' is not one of A, B, M, C, D",
    )
    rated = dated(source, "rated_on", rejects, required=False)
    # Grades for year Y are published in April of Y+1; the assumption is flagged where used.
    assumed = pd.to_datetime((year.fillna(1999) + 1).astype("int64").astype(str) + "-04-01").astype("datetime64[s]")
    event = rated.fillna(assumed)
    keep = rejects.keep(source.frame.index)
    facts = assemble(
        "tax",
        source,
        keep,
        {
            "fact_key": "tax:" + subjects.uscc + ":" + year.astype("Int64").astype("string"),
            "subject_uscc": subjects.uscc,
            "event_date": event,
            "category": grade,
            "flags": add_flag(subjects.flags, rated.isna(), "date_assumed"),
            "rule_set_id": rule_ids(event[keep]),
        },
        pd.DataFrame({"year": year.astype("Int64"), "name": optional(source, "name")}),
    )
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep, optional(source, "name")),
        aliases=subjects.aliases,
    )


def inspection(source: Source, ctx: Context) -> Batch:
    rejects = Rejects()
    subjects = _subjects(source, ctx, rejects)
    inspected = dated(source, "inspected_on", rejects, required=True)
    result = required_text(source, "result", rejects)
    outcome = fold_fullwidth(result).str.replace(r"\s+", "", regex=True).map(INSPECTION_OUTCOMES)
    rejects.add(
        result.notna() & outcome.isna(),
        "unknown_result",
        f"{source.label('result')}: '" + result.fillna("") + "' is not a known inspection result",
    )
    kind = required_text(source, "inspection_type", rejects)
    task = optional(source, "task_no")
    given = optional(source, "inclusion_probability")
    pi = pd.to_numeric(fold_fullwidth(given).str.rstrip("%"), errors="coerce")
    pi = pi.where(~given.str.endswith("%").fillna(False), pi / 100)
    rejects.add(
        given.notna() & (pi.isna() | (pi <= 0) | (pi > 1)),
        "bad_probability",
        f"{source.label('inclusion_probability')}: '" + given.fillna("") + "' is not a probability in (0, 1]",
    )
    keep = rejects.keep(source.frame.index)
    facts = assemble(
        "inspection",
        source,
        keep,
        {
            "fact_key": "inspection:"
            + subjects.uscc
            + ":"
            + key_part(task.fillna(""))
            + ":"
            + inspected.dt.strftime("%Y-%m-%d"),
            "subject_uscc": subjects.uscc,
            "event_date": inspected,
            "published": True,
            "document_no": task,
            "authority": optional(source, "authority"),
            "category": outcome,
            "flags": add_flag(subjects.flags, ~kind.isin(INSPECTION_TYPES), "type_unrecognised"),
            "rule_set_id": rule_ids(inspected[keep]),
        },
        pd.DataFrame(
            {"inspection_type": kind, "result": result, "name": optional(source, "name"), "inclusion_probability": pi}
        ),
    )
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep, optional(source, "name")),
        aliases=subjects.aliases,
    )


def commitment(source: Source, ctx: Context) -> Batch:
    rejects = Rejects()
    subjects = _subjects(source, ctx, rejects)
    kind = required_text(source, "commitment_type", rejects)
    committed = dated(source, "committed_on", rejects, required=True)
    checked = dated(source, "checked_on", rejects, required=False)
    keep = rejects.keep(source.frame.index)
    facts = assemble(
        "commitment",
        source,
        keep,
        {
            "fact_key": "commitment:" + subjects.uscc + ":" + kind + ":" + committed.dt.strftime("%Y-%m-%d"),
            "subject_uscc": subjects.uscc,
            "event_date": committed,
            "category": kind,
            "flags": subjects.flags,
            "rule_set_id": rule_ids(committed[keep]),
        },
        pd.DataFrame({"fulfilment": optional(source, "fulfilment"), "checked_on": checked}),
    )
    return Batch(facts, rejects.frame(), entities=entity_stubs(subjects, keep), aliases=subjects.aliases)


def complaint(source: Source, ctx: Context) -> Batch:
    """Complaints carry no number: the ones of an entity on a day, of one category, are told
    apart by their order in the file (their verification status may change between exports)."""
    rejects = Rejects()
    subjects = _subjects(source, ctx, rejects)
    registered = dated(source, "registered_on", rejects, required=True)
    category = optional(source, "category")
    true = optional(source, "substantiated")
    keep = rejects.keep(source.frame.index)
    day = registered.dt.strftime("%Y-%m-%d")
    parts = pd.DataFrame({"u": subjects.uscc, "d": day, "c": category.fillna("")}).loc[keep]
    occurrence = parts.groupby(["u", "d", "c"], dropna=False).cumcount().astype("string")
    facts = assemble(
        "complaint",
        source,
        keep,
        {
            "fact_key": "complaint:" + subjects.uscc + ":" + day + ":" + category.fillna("") + ":" + occurrence,
            "subject_uscc": subjects.uscc,
            "event_date": registered,
            "category": category,
            "flags": subjects.flags,
            "rule_set_id": rule_ids(registered[keep]),
        },
        pd.DataFrame({"substantiated": true}),
    )
    return Batch(facts, rejects.frame(), entities=entity_stubs(subjects, keep), aliases=subjects.aliases)

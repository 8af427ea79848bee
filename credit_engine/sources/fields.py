"""Column helpers shared by the source transforms: dates, texts, flags, entity stubs, rule ids."""

from __future__ import annotations

import pandas as pd

from credit_engine.identifiers import entity_types
from credit_engine.rules import rules_for
from credit_engine.sources.assemble import Source
from credit_engine.sources.batch import Rejects
from credit_engine.sources.clean import fold_fullwidth, parse_dates, text
from credit_engine.sources.subjects import Subjects


def dated(source: Source, column: str, rejects: Rejects, required: bool) -> pd.Series:
    """Parse a date column; bad values (and missing required ones) refuse the row, naming the column."""
    if column not in source.frame:
        return pd.Series(pd.NaT, index=source.frame.index, dtype="datetime64[s]")
    dates, problems = parse_dates(source.frame[column])
    label = source.label(column)
    rejects.add(problems.notna(), "bad_date", f"{label}: " + problems.fillna(""))
    if required:
        rejects.add(dates.isna(), "missing_date", f"{label}: no date given")
    return dates


def required_text(source: Source, column: str, rejects: Rejects) -> pd.Series:
    values = text(source.frame[column])
    rejects.add(values.isna(), f"missing_{column}", f"{source.label(column)}: empty")
    return values


def optional(source: Source, column: str) -> pd.Series:
    if column in source.frame:
        return text(source.frame[column])
    return pd.Series(pd.NA, index=source.frame.index, dtype="string")


def add_flag(flags: pd.Series, mask: pd.Series, flag: str) -> pd.Series:
    joined = flags.fillna("").str.cat(pd.Series(flag, index=flags.index), sep=",").str.strip(",")
    return flags.where(~mask.fillna(False), joined).astype("string")


def entity_stubs(subjects: Subjects, rows: pd.Index, names: pd.Series | None = None) -> pd.DataFrame:
    """Entities as a file names them: registration data fills in the rest when it arrives."""
    usccs = subjects.uscc.reindex(rows).dropna().drop_duplicates()
    return pd.DataFrame(
        {
            "uscc": usccs,
            "code_status": subjects.code_status.reindex(usccs.index),
            "entity_type": entity_types(usccs),
            "region_code": usccs.str.slice(2, 8),
            "name": names.reindex(usccs.index) if names is not None else pd.NA,
        }
    )


def rule_ids(dates: pd.Series) -> pd.Series:
    """The rule set that judged each date: every derived value records what judged it."""
    by_date = {d: rules_for(d.date()).id for d in dates.dropna().unique()}
    return dates.map(by_date).astype("string")


#: A decision changed (变更), revoked (撤销), found illegal (确认违法) or void (确认无效) is withdrawn
#: from publicity within 3 working days (SAMR Order 45 Art.11; the rule sets' ``withdrawal``).
WITHDRAWN_STATES = ("撤销", "变更", "确认违法", "确认无效")


def lifecycle(source_status: pd.Series) -> pd.Series:
    """A decision the source marks as withdrawn (``WITHDRAWN_STATES``) is withdrawn; else active."""
    return pd.Series("active", index=source_status.index, dtype="string").mask(
        source_status.str.contains("|".join(WITHDRAWN_STATES), regex=True).fillna(False), "withdrawn"
    )


def key_part(values: pd.Series) -> pd.Series:
    """A number as part of a fact key: width and spacing variants of one document are one key."""
    return fold_fullwidth(values).str.replace(r"\s+", "", regex=True).str.upper()

"""GSXT lists (经营异常名录, 严重违法失信名单) and the court list of dishonest debtors (失信被执行人)."""

from __future__ import annotations

import pandas as pd

from credit_engine.identifiers import classify_codes
from credit_engine.sources.assemble import Context, Source, assemble
from credit_engine.sources.batch import Batch, Rejects
from credit_engine.sources.clean import text
from credit_engine.sources.fields import add_flag, dated, entity_stubs, key_part, optional, required_text, rule_ids
from credit_engine.sources.subjects import is_personal_id, people

#: The statutory listing grounds (企业信息公示暂行条例 Art.17; 经营异常名录管理办法 Art.4), by keyword.
ABNORMAL_GROUNDS = (
    ("年度报告", "annual_report"),
    ("责令的期限", "info_not_published"),
    ("隐瞒真实情况", "false_info"),
    ("弄虚作假", "false_info"),
    ("无法联系", "unreachable"),
)
#: Grounds of 严重违法失信名单 (市场监督管理严重违法失信名单管理办法, SAMR Order 44), by keyword.
SERIOUS_GROUNDS = (
    ("届满", "abnormal_three_years"),
    ("3年", "abnormal_three_years"),
    ("三年", "abnormal_three_years"),
    ("生命健康", "life_and_health"),
    ("公平竞争", "fair_competition"),
    ("知识产权", "intellectual_property"),
    ("拒不", "refuses_decision"),
    ("虚假", "false_registration"),
)


def _grounds(reasons: pd.Series, table: tuple[tuple[str, str], ...]) -> pd.Series:
    out = pd.Series(pd.NA, index=reasons.index, dtype="string")
    for word, code in table:
        out = out.mask(out.isna() & reasons.str.contains(word, regex=False).fillna(False), code)
    return out


def _listing(kind: str, grounds: tuple[tuple[str, str], ...]):
    def transform(source: Source, ctx: Context) -> Batch:
        rejects = Rejects()
        subjects = ctx.resolver.resolve(
            source.frame, rejects, "uscc", source.label("uscc"), name_column="name", alt_columns=()
        )
        reason = required_text(source, "reason", rejects)
        listed = dated(source, "listed_on", rejects, required=True)
        removed = dated(source, "removed_on", rejects, required=False)
        rejects.add(
            removed < listed,
            "removed_before_listed",
            f"{source.label('removed_on')} is earlier than {source.label('listed_on')}",
        )
        ground = _grounds(reason, grounds)
        flags = add_flag(subjects.flags, ground.isna(), "ground_unrecognised")
        keep = rejects.keep(source.frame.index)
        detail = pd.DataFrame(
            {
                "name": optional(source, "name"),
                "reason": reason,
                "listed_by": optional(source, "listed_by"),
                "removal_reason": optional(source, "removal_reason"),
                "removed_by": optional(source, "removed_by"),
            }
        )
        facts = assemble(
            kind,
            source,
            keep,
            {
                "fact_key": f"{kind}:" + subjects.uscc + ":" + listed.dt.strftime("%Y-%m-%d"),
                "subject_uscc": subjects.uscc,
                "event_date": listed,
                "end_date": removed,
                "published": True,
                "severity": "serious" if kind == "serious" else None,
                "authority": optional(source, "listed_by"),
                "category": ground.fillna("other"),
                "flags": flags,
                "rule_set_id": rule_ids(listed),
            },
            detail,
        )
        return Batch(
            facts,
            rejects.frame(),
            entities=entity_stubs(subjects, keep, optional(source, "name")),
            aliases=subjects.aliases,
        )

    return transform


abnormal = _listing("abnormal", ABNORMAL_GROUNDS)
serious = _listing("serious", SERIOUS_GROUNDS)


def court(source: Source, ctx: Context) -> Batch:
    """Debtors are enterprises (by code) or natural persons (by pseudonym; masked IDs kept unresolved)."""
    f = source.frame
    rejects = Rejects()
    case_no = required_text(source, "case_no", rejects)
    filed = dated(source, "filed_on", rejects, required=True)
    removed = dated(source, "removed_on", rejects, required=False)
    published_on = dated(source, "published_on", rejects, required=False)
    nature = optional(source, "party_nature")
    code = text(f["party_code"]).fillna("")
    # Without 被执行人性质, an identity number (or a digits-only masked one) means a person.
    looks_like_person = is_personal_id(code, masked=True) & (classify_codes(code)["kind"] != "uscc")
    stated = nature.str.contains("自然人", regex=False).mask(
        nature.str.contains("法人|组织|企业", regex=True).fillna(False), False
    )
    is_person = stated.fillna(looks_like_person).astype(bool)

    entity_rows = f.index[~is_person]
    subjects = ctx.resolver.resolve(
        f.loc[entity_rows], rejects, "party_code", source.label("party_code"), alt_columns=()
    )
    uscc = subjects.uscc.reindex(f.index)

    persons = people(code.where(is_person), optional(source, "party_name"), ctx.pseudonymiser, ctx.keep_encrypted_ids)
    kind = persons.checks["kind"]
    label = source.label("party_code")
    rejects.add(is_person & (kind == "empty"), "missing_code", f"{label}: empty")
    unresolved = is_person & persons.key.isna() & (kind != "empty")
    age_at_filing = _age(persons.checks["birth_date"], filed).fillna(
        pd.to_numeric(optional(source, "age"), errors="coerce")
    )
    rejects.add(
        is_person & (age_at_filing < 18),
        "minor_listed",
        f"{label}: the debtor was a minor when the case was filed; minors are never listed",
    )
    flags = subjects.flags.reindex(f.index).astype("string")
    flags = add_flag(flags, unresolved, "person_unresolved")
    flags = add_flag(flags, is_person & (kind == "bad_check"), "id_bad_check")

    masked_id = persons.masked.where(is_person)
    subject = uscc.fillna(persons.key).fillna("masked:" + masked_id + ":" + optional(source, "party_name").fillna(""))
    keep = rejects.keep(f.index)
    detail = pd.DataFrame(
        {
            "party_nature": nature,
            "legal_rep_name": optional(source, "legal_rep_name"),
            "court": optional(source, "court"),
            "basis_doc": optional(source, "basis_doc"),
            "published_on": published_on,
            "conduct": optional(source, "conduct"),
            "performance": optional(source, "performance"),
            "gender": optional(source, "gender"),
            "age": optional(source, "age"),
        }
    )
    facts = assemble(
        "court",
        source,
        keep,
        {
            "fact_key": "court:" + key_part(case_no) + ":" + subject,
            "subject_uscc": uscc,
            "person_key": persons.key.where(is_person),
            "person_masked_id": masked_id,
            "person_name": optional(source, "party_name").where(is_person),
            "event_date": filed,
            "end_date": removed,
            "published": True,
            "document_no": case_no,
            "authority": optional(source, "court"),
            "flags": flags,
            "rule_set_id": rule_ids(filed),
        },
        detail,
    )
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep, optional(source, "party_name")),
        persons=persons.persons.loc[persons.persons.index.intersection(keep)],
        aliases=subjects.aliases,
    )


def _age(birth: pd.Series, on: pd.Series) -> pd.Series:
    birth = pd.to_datetime(birth)
    years = on.dt.year - birth.dt.year
    before_birthday = (on.dt.month < birth.dt.month) | ((on.dt.month == birth.dt.month) & (on.dt.day < birth.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Float64")

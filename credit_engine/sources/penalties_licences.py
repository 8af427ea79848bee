"""双公示 administrative penalties and licences, both generations (v1 2016-era, v2 2020+)."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import pandas as pd

from credit_engine.identifiers import classify_codes
from credit_engine.records import END_STATED, TIER_STATED
from credit_engine.rules import load_rule_sets, province_of, rules_for
from credit_engine.rules.penalty import CATEGORY_NAMES, Tier, stated_tier, tier_penalty
from credit_engine.sources.assemble import Context, Source, assemble
from credit_engine.sources.batch import Batch, Rejects
from credit_engine.sources.clean import map_codes, normalise_categories, parse_dates, parse_money_yuan, text
from credit_engine.sources.fields import (
    add_flag,
    dated,
    entity_stubs,
    key_part,
    lifecycle,
    optional,
    required_text,
    rule_ids,
)
from credit_engine.sources.subjects import is_personal_id, people

PENALTY_CATEGORIES = CATEGORY_NAMES  # the rules' vocabulary, one list
LICENCE_CATEGORIES = {"01": "普通", "02": "特许", "03": "认可", "04": "核准", "05": "登记", "06": "其他"}


def party_subjects(source: Source, ctx: Context, rejects: Rejects):
    """Entities by their best code. The party is a natural person when the code column holds an
    identity number, or when no usable entity code is given but the row has a valid ID."""
    f = source.frame
    code = text(f["uscc"]).fillna("")
    in_code_column = is_personal_id(code) & (classify_codes(code)["kind"] != "uscc")
    person_ids = optional(source, "party_id").where(~in_code_column, code)
    no_entity_code = ~classify_codes(code)["kind"].isin(["uscc", "uscc_check_failed", "reg_no", "org_code", "masked"])
    no_entity_code &= optional(source, "reg_no").isna() & optional(source, "org_code").isna()
    individuals = people(
        person_ids.where(no_entity_code | in_code_column),
        optional(source, "party_name"),
        ctx.pseudonymiser,
        ctx.keep_encrypted_ids,
    )
    is_person = (no_entity_code | in_code_column) & individuals.key.notna()
    entity_rows = f.index[~is_person]
    subjects = ctx.resolver.resolve(f.loc[entity_rows], rejects, "uscc", source.label("uscc"))
    uscc = subjects.uscc.reindex(f.index)
    flags = subjects.flags.reindex(f.index)
    return (
        uscc,
        individuals.key.where(is_person),
        flags,
        subjects,
        individuals.persons[is_person[individuals.persons.index]],
    )


def penalties(source: Source, ctx: Context) -> Batch:
    f = source.frame
    rejects = Rejects()
    uscc, person_key, flags, subjects, persons = party_subjects(source, ctx, rejects)
    document_no = required_text(source, "document_no", rejects)
    decided = dated(source, "decision_date", rejects, required=True)
    valid_until = dated(source, "valid_until", rejects, required=False)
    # the issuing authority's own publicity end (公示截止期) and tier, and the publication date: used as given
    # an unreadable stated end or publication date does not refuse the row: it is flagged, and the
    # period is derived as if the source were silent
    stated_end, bad_end = _lenient_date(source, "publicity_until")
    published_on, bad_published = _lenient_date(source, "published_on")
    flags = add_flag(add_flag(flags, bad_end, "publicity_until_unreadable"), bad_published, "published_on_unreadable")
    tier_text = optional(source, "stated_tier")
    tier_stated = tier_text.map(stated_tier, na_action="ignore")
    rejects.add(
        tier_text.notna() & tier_stated.isna(),
        "bad_tier",
        f"{source.label('stated_tier')}: " + tier_text.fillna("") + " is not 轻微, 一般 or 严重",
    )

    category_text = optional(source, "category")
    if "category2" in f:
        category_text = category_text.str.cat(optional(source, "category2"), sep="、", na_rep="")
    content = optional(source, "content")
    categories = normalise_categories(category_text.fillna(content.fillna("")), PENALTY_CATEGORIES)
    flags = add_flag(flags, categories.isna(), "category_missing")
    categories = categories.fillna("其他")

    fine = parse_money_yuan(f["fine_wan"], "万元") if "fine_wan" in f else pd.Series(float("nan"), index=f.index)
    fine = fine.fillna(parse_money_yuan(content, "元").where(categories.str.contains("罚款")))
    confiscated = parse_money_yuan(f["confiscated_wan"], "万元") if "confiscated_wan" in f else None

    key_area = _key_area(source)
    simple = _simple_procedure(document_no, content)
    keep = rejects.keep(f.index)
    subject = uscc.fillna(person_key)
    tiers = [
        _tier(
            cats,
            None if pd.isna(amount) else float(amount),
            day.date(),
            None if pd.isna(area) else area,
            _date(until),
            tier if isinstance(tier, str) else None,
            _date(end),
            _date(pub),
            bool(easy),
            None if pd.isna(code) else str(code),
        )
        for cats, amount, day, area, until, tier, end, pub, easy, code in zip(
            categories[keep],
            fine[keep],
            decided[keep],
            key_area[keep],
            valid_until[keep],
            tier_stated[keep],
            stated_end[keep],
            published_on[keep],
            simple[keep],
            uscc[keep],
        )
    ]
    tiering = pd.DataFrame(
        [
            (
                t.tier.value,
                t.published,
                t.publicity_end,
                t.repairable_early,
                t.repair_from,
                t.basis,
                t.tier_derived,
                t.tier_rule,
                rule_id,
            )
            for t, rule_id in tiers
        ],
        index=keep,
        columns=[
            "severity",
            "published",
            "publicity_end",
            "repairable_early",
            "repair_from",
            "basis",
            "tier_derived",
            "tier_rule",
            "rule_set_id",
        ],
    )
    detail = pd.DataFrame(
        {
            "party_name": optional(source, "party_name"),
            "legal_rep_name": optional(source, "legal_rep_name"),
            "violation_type": optional(source, "violation_type"),
            "facts_text": optional(source, "facts_text"),
            "basis": optional(source, "basis"),
            "content": content,
            "confiscated_yuan": confiscated,
            "licence_affected": optional(source, "licence_affected"),
            "key_area": key_area,
            "repairable_early": tiering["repairable_early"],
            "repair_from": pd.to_datetime(tiering["repair_from"]).astype("datetime64[s]"),
            "tier_basis": tiering["basis"],
            "tier_derived": tiering["tier_derived"],
            "tier_rule": tiering["tier_rule"],
            "published_on": published_on,
            "simple_procedure": simple.where(simple),
            TIER_STATED: tier_stated.notna().where(tier_stated.notna()),
            END_STATED: stated_end.notna().where(stated_end.notna()),
            "source_status": optional(source, "source_status"),
            "source_publicity_until": optional(source, "publicity_until"),
            "source_tier": tier_text,
        }
    )
    facts = assemble(
        "penalty",
        source,
        keep,
        {
            "fact_key": "penalty:" + key_part(document_no) + ":" + subject,
            "subject_uscc": uscc,
            "person_key": person_key,
            "event_date": decided,
            "end_date": valid_until,
            "publicity_end": tiering["publicity_end"],
            "published": tiering["published"],
            "severity": tiering["severity"],
            "amount_yuan": fine,
            "document_no": document_no,
            "authority": optional(source, "authority"),
            "status": lifecycle(optional(source, "source_status")),
            "category": categories,
            "flags": flags,
            "rule_set_id": tiering["rule_set_id"],
        },
        detail,
    )
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep, optional(source, "party_name")),
        persons=persons.loc[persons.index.intersection(keep)],
        aliases=subjects.aliases,
    )


def _lenient_date(source: Source, column: str) -> tuple[pd.Series, pd.Series]:
    """(dates, unreadable) of an optional column whose bad values must not refuse the row."""
    if column not in source.frame:
        empty = pd.Series(pd.NaT, index=source.frame.index, dtype="datetime64[s]")
        return empty, pd.Series(False, index=source.frame.index)
    dates, problems = parse_dates(source.frame[column])
    return dates.where(problems.isna()), problems.notna()


def _date(value: object) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


@lru_cache(maxsize=65536)
def _tier(
    categories: str,
    amount: float | None,
    decided: date,
    area: str | None,
    until: date | None,
    tier: str | None,
    end: date | None,
    published_on: date | None,
    simple: bool,
    uscc: str | None,
):
    """The tier and dates as the set in force on the decision date judges them (stored with the
    fact; records judge again by the set in force on the judged date)."""
    rules = rules_for(decided, province_of(uscc))
    key_area = area is not None and area in rules.repair.key_areas.value
    return tier_penalty(
        categories.split("、"),
        amount,
        decided,
        key_area,
        rules,
        until,
        stated_tier=Tier(tier) if tier else None,
        stated_end=end,
        published_on=published_on,
        simple_procedure=simple,
        natural_person=not uscc or uscc.startswith("92"),
    ), rules.id


def _simple_procedure(document_no: pd.Series, content: pd.Series) -> pd.Series:
    """Decisions whose number or content names the simple procedure (the markers of every set)."""
    words = sorted({w for rules in load_rule_sets() for w in rules.penalty.simple_procedure_markers.value})
    hay = document_no.fillna("").str.cat(content.fillna(""), sep=" ")
    return hay.str.contains("|".join(re.escape(w) for w in words), regex=True).fillna(False).astype(bool)


def _key_area(source: Source) -> pd.Series:
    """The first key area (food, drugs, special equipment …) the penalty's text names, if any.

    Which areas change the repair period is the rule set's business (see ``_tier``); the
    vocabulary searched is the union over all sets.
    """
    words = sorted({w for rules in load_rule_sets() for w in rules.key_areas.value}, key=len, reverse=True)
    hay = pd.Series("", index=source.frame.index, dtype="string")
    for col in ("violation_type", "facts_text", "basis", "penalty_name", "content", "licence_affected"):
        hay = hay.str.cat(optional(source, col), sep=" ", na_rep="")
    return hay.str.extract("(" + "|".join(re.escape(w) for w in words) + ")")[0].astype("string")


def licences(source: Source, ctx: Context) -> Batch:
    rejects = Rejects()
    uscc, person_key, flags, subjects, persons = party_subjects(source, ctx, rejects)
    document_no = required_text(source, "document_no", rejects)
    decided = dated(source, "decision_date", rejects, required=True)
    valid_from = dated(source, "valid_from", rejects, required=False)
    valid_until = dated(source, "valid_until", rejects, required=False)
    keep = rejects.keep(source.frame.index)
    rule_set = rule_ids(decided[keep])
    detail = pd.DataFrame(
        {
            "party_name": optional(source, "party_name"),
            "document_name": optional(source, "document_name"),
            "project_name": optional(source, "project_name"),
            "certificate": optional(source, "certificate"),
            "licence_no": optional(source, "licence_no"),
            "content": optional(source, "content"),
            "valid_from": valid_from,
            "source_status": optional(source, "source_status"),
        }
    )
    facts = assemble(
        "license",
        source,
        keep,
        {
            "fact_key": "license:" + key_part(document_no) + ":" + uscc.fillna(person_key),
            "subject_uscc": uscc,
            "person_key": person_key,
            "event_date": decided,
            "end_date": valid_until,
            "published": True,
            "document_no": document_no,
            "authority": optional(source, "authority"),
            "status": lifecycle(optional(source, "source_status")),
            "category": map_codes(source.frame["category"], LICENCE_CATEGORIES) if "category" in source.frame else None,
            "flags": flags,
            "rule_set_id": rule_set,
        },
        detail,
    )
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep, optional(source, "party_name")),
        persons=persons.loc[persons.index.intersection(keep)],
        aliases=subjects.aliases,
    )

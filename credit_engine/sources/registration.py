"""GSXT registration (市场主体登记信息) and key persons (主要人员): entities, persons, roles."""

from __future__ import annotations

import pandas as pd

from credit_engine.identifiers import entity_types
from credit_engine.sources.assemble import Context, Source, assemble
from credit_engine.sources.batch import Batch, Rejects
from credit_engine.sources.clean import fold_name, parse_money_yuan
from credit_engine.sources.fields import dated, entity_stubs, optional, required_text, rule_ids
from credit_engine.sources.subjects import people

#: Flag of a role whose person's identity number is invalid or missing: kept by name, no pseudonym.
PERSON_UNVERIFIED = "person_unverified"

#: 职务 text -> role code. A person may hold several at once ("执行董事兼总经理").
POSITIONS = {
    "法定代表人": "legal_representative",
    "董事长": "director",
    "副董事长": "director",
    "执行董事": "director",
    "董事": "director",
    "监事会主席": "supervisor",
    "监事": "supervisor",
    "总经理": "manager",
    "副总经理": "manager",
    "经理": "manager",
    "财务负责人": "cfo",
    "股东": "shareholder",
    "投资人": "shareholder",
    "实际控制人": "controller",
    "负责人": "manager",
}


#: 登记状态 as the sources spell it (folded by ``status_key``) -> the one status it means
#: (DATA_CONTRACT defect 11). Closed: a spelling not here refuses the row rather than pass as
#: trading. 吊销，未注销 is revoked (not trading), 吊销，已注销 cancelled.
REG_STATUSES = {
    **dict.fromkeys(("存续", "在业", "在营", "开业", "在册", "存续在营开业在册", "存续在业", "确立"), "存续"),
    **dict.fromkeys(("吊销", "吊销未注销", "已吊销", "吊销营业执照"), "吊销"),
    **dict.fromkeys(("注销", "已注销", "吊销已注销", "注销登记"), "注销"),
    **dict.fromkeys(("迁出", "已迁出"), "迁出"),
    **dict.fromkeys(("撤销", "已撤销", "撤销登记"), "撤销"),
    "歇业": "歇业",
}
_STATUS_MARKS = str.maketrans("", "", "，,、()（）;；:：.。·-")


def status_key(raw: str | None) -> str:
    """A spelling of 登记状态 without width, spaces or punctuation: the key of ``REG_STATUSES``."""
    return fold_name(raw).translate(_STATUS_MARKS)


def reg_statuses(raw: pd.Series, label: str, rejects: Rejects) -> pd.Series:
    """The normalised status of each row; an unknown spelling refuses the row, naming it."""
    spellings = {value: REG_STATUSES.get(status_key(value)) for value in raw.dropna().unique()}
    status = raw.map(spellings).astype("string")
    rejects.add(
        raw.notna() & status.isna(),
        "unknown_reg_status",
        f"{label}: '"
        + raw.fillna("")
        + "' is not a known registration status (known: "
        + "、".join(dict.fromkeys(REG_STATUSES.values()))
        + ")",
    )
    return status


def registration(source: Source, ctx: Context) -> Batch:
    f = source.frame
    rejects = Rejects()
    subjects = ctx.resolver.resolve(
        f, rejects, "uscc", source.label("uscc"), name_column="name", alt_columns=("reg_no",), authority=True
    )
    uscc = subjects.uscc
    name = required_text(source, "name", rejects)
    established = dated(source, "established_on", rejects, required=True)
    approved = dated(source, "approved_on", rejects, required=False)
    raw_status = required_text(source, "reg_status", rejects)
    status = reg_statuses(raw_status, source.label("reg_status"), rejects)
    capital = parse_money_yuan(f["capital_wan"], "万元") if "capital_wan" in f else None
    rep = people(
        optional(source, "legal_rep_id"), optional(source, "legal_rep_name"), ctx.pseudonymiser, ctx.keep_encrypted_ids
    )
    keep = rejects.keep(f.index)

    entities = (
        pd.DataFrame(
            {
                "uscc": uscc,
                "code_status": subjects.code_status,
                "entity_type": entity_types(uscc),
                "region_code": uscc.str.slice(2, 8),
                "name": name,
                "market_type": optional(source, "market_type"),
                "legal_rep_name": optional(source, "legal_rep_name"),
                "registered_capital_yuan": capital,
                "established_on": established,
                "industry_code": optional(source, "industry_code").str.upper(),
                "address": optional(source, "address"),
                "authority": optional(source, "authority"),
                "reg_status": status,
                "approved_on": approved,
                "business_scope": optional(source, "scope"),
                "registered": True,
            }
        )
        .loc[keep]
        .drop_duplicates("uscc", keep="last")
    )

    as_of = approved.fillna(established)
    detail = entities.drop(columns=["uscc", "code_status", "registered"]).assign(
        legal_rep_key=rep.key, reg_status_raw=raw_status.where(raw_status != status)
    )  # the text, where it differs
    facts = [
        assemble(
            "registration",
            source,
            keep,
            {
                "fact_key": "registration:" + uscc + ":" + as_of.dt.strftime("%Y-%m-%d"),
                "subject_uscc": uscc,
                "event_date": as_of,
                "published": True,
                "authority": optional(source, "authority"),
                "category": status,
                "flags": subjects.flags,
                "rule_set_id": rule_ids(as_of),
            },
            detail.reindex(keep),
        )
    ]
    # a legal representative whose identity number is invalid or missing keeps the role by name
    # and masked number, flagged: never dropped, never a pseudonym of a number that is not one
    rep_name = optional(source, "legal_rep_name")
    with_rep = keep.intersection(rep.key.dropna().index.union(rep_name.dropna().index))
    unverified = rep.key.isna()
    if len(with_rep):
        facts.append(
            _roles(
                source,
                with_rep,
                uscc,
                rep.key,
                rep.masked.str.slice(0, 18),
                rep_name,
                pd.Series("legal_representative", index=f.index),
                as_of,
                None,
                flags=pd.Series(PERSON_UNVERIFIED, index=f.index).where(unverified),
            )
        )
    return Batch(
        pd.concat(facts),
        rejects.frame(),
        entities=entities,
        persons=rep.persons.loc[rep.persons.index.intersection(keep)],
        aliases=subjects.aliases,
        persons_unverified=int(unverified.reindex(with_rep).sum()),
    )


def personnel(source: Source, ctx: Context) -> Batch:
    f = source.frame
    rejects = Rejects()
    subjects = ctx.resolver.resolve(f, rejects, "uscc", source.label("uscc"), name_column=None, alt_columns=())
    name = required_text(source, "name", rejects)
    who = people(f["id_no"], name, ctx.pseudonymiser, ctx.keep_encrypted_ids)
    label = source.label("id_no")
    rejects.add(
        who.key.isna(),
        "bad_person_id",
        f"{label}: not a usable identity number (" + who.checks["kind"].astype(str) + ": " + who.checks["reason"] + ")",
    )
    start = dated(source, "start", rejects, required=False)
    end = dated(source, "end", rejects, required=False)
    rejects.add(end < start, "end_before_start", f"{source.label('end')} is earlier than {source.label('start')}")

    roles = optional(source, "position").str.split(r"\s*[兼、,，/;；]\s*|\s+", regex=True).explode()
    codes = roles.map(POSITIONS)
    unknown = codes.isna().groupby(level=0).any()
    rejects.add(
        unknown,
        "unknown_position",
        f"{source.label('position')}: '" + optional(source, "position").fillna("") + "' is not a known position",
    )
    keep = rejects.keep(f.index)
    codes = codes[codes.index.isin(keep)]
    codes = codes[~pd.MultiIndex.from_arrays([codes.index, codes.to_numpy()]).duplicated()]
    facts = _roles(
        source,
        codes.index,
        subjects.uscc,
        who.key,
        who.masked,
        name,
        codes,
        start,
        end,
        share=pd.to_numeric(optional(source, "share_ratio").str.rstrip("%"), errors="coerce"),
    )
    persons = who.persons.loc[who.persons.index.intersection(keep)]
    return Batch(
        facts, rejects.frame(), entities=entity_stubs(subjects, keep), persons=persons, aliases=subjects.aliases
    )


def _roles(
    source: Source,
    rows: pd.Index,
    uscc: pd.Series,
    key: pd.Series,
    masked: pd.Series,
    name: pd.Series,
    role: pd.Series,
    start: pd.Series,
    end: pd.Series | None,
    share: pd.Series | None = None,
    flags: pd.Series | None = None,
) -> pd.DataFrame:
    """Role facts; ``rows`` repeats a row number when one person holds several positions. A
    person without a pseudonym (``PERSON_UNVERIFIED``) is told apart by name."""
    role = role.reindex(rows) if not role.index.equals(rows) else role
    uscc, key, start = uscc.reindex(rows), key.reindex(rows), start.reindex(rows)
    who = key.fillna("unverified:" + name.reindex(rows))
    return assemble(
        "role",
        source,
        rows,
        {
            # identity only: an export that adds or corrects the start date is a new version
            "fact_key": "role:" + uscc + ":" + who + ":" + role,
            "flags": flags.reindex(rows) if flags is not None else None,
            "subject_uscc": uscc,
            "person_key": key,
            "person_masked_id": masked.reindex(rows),
            "person_name": name.reindex(rows),
            "event_date": start,
            "end_date": end.reindex(rows) if end is not None else None,
            "category": role,
            "published": True,
        },
        pd.DataFrame({"share": share.reindex(rows) if share is not None else None}, index=rows),
    )


#: 限制事由 text -> the bar it causes (rule sets' ``person_bars``), first match wins.
BAR_GROUNDS = (
    ("缓刑", "criminal_probation"),
    ("破产", "bankruptcy_liquidation"),
    ("撤销登记", "registration_fraud"),
    ("欺诈", "registration_fraud"),
    ("虚假", "registration_fraud"),
    ("剥夺政治权利", "criminal_sentence"),
    ("刑", "criminal_sentence"),
    ("判决", "criminal_sentence"),
)
#: Offences that bar (Company Law Art.178(2)): others are kept, flagged, and bar nothing.
BARRING_OFFENCES = ("贪污", "贿赂", "侵占", "挪用", "破坏社会主义市场经济秩序", "剥夺政治权利")


def person_bars(source: Source, ctx: Context) -> Batch:
    """Events barring a person from a role (the ``person_bar`` kind): one fact per person and event,
    dated by the day the bar runs from; a sentence for an offence Art.178(2) does not name is kept,
    flagged ``offence_not_barring``, and bars nothing (category ``criminal_other``)."""
    f = source.frame
    rejects = Rejects()
    name = required_text(source, "name", rejects)
    who = people(f["id_no"], name, ctx.pseudonymiser, ctx.keep_encrypted_ids)
    rejects.add(
        who.key.isna(),
        "bad_person_id",
        f"{source.label('id_no')}: not a usable identity number ("
        + who.checks["kind"].astype(str)
        + ": "
        + who.checks["reason"]
        + ")",
    )
    ground_text = required_text(source, "ground", rejects)
    ground = pd.Series(pd.NA, index=f.index, dtype="string")
    for word, code in BAR_GROUNDS:
        ground = ground.mask(ground.isna() & ground_text.str.contains(word, regex=False).fillna(False), code)
    rejects.add(
        ground_text.notna() & ground.isna(),
        "unknown_bar_ground",
        f"{source.label('ground')}: '" + ground_text.fillna("") + "' is not a sentence, probation, "
        "bankruptcy liquidation or registration cancelled for fraud",
    )
    since = dated(source, "counted_from", rejects, required=True)
    offence = optional(source, "offence")
    criminal = ground.isin(["criminal_sentence", "criminal_probation"]).fillna(False)
    barring = offence.str.contains("|".join(BARRING_OFFENCES), regex=True).fillna(False) | ground_text.str.contains(
        "剥夺政治权利", regex=False
    ).fillna(False)
    other = criminal & ~barring
    ground = ground.mask(other, "criminal_other")
    given = optional(source, "uscc").notna()
    uscc = pd.Series(pd.NA, index=f.index, dtype="string")
    subjects = None
    if given.any():
        subjects = ctx.resolver.resolve(
            f.loc[given],
            rejects,
            "uscc",
            source.label("uscc"),
            name_column="enterprise_name" if "enterprise_name" in f else None,
            alt_columns=(),
        )
        uscc = subjects.uscc.reindex(f.index).astype("string")
    keep = rejects.keep(f.index)
    flags = pd.Series(pd.NA, index=f.index, dtype="string")
    flags = flags.mask(other, "offence_not_barring")
    facts = assemble(
        "person_bar",
        source,
        keep,
        {
            "fact_key": "person_bar:"
            + who.key.fillna("")
            + ":"
            + ground.fillna("")
            + ":"
            + since.dt.strftime("%Y-%m-%d"),
            "subject_uscc": uscc,
            "person_key": who.key,
            "person_masked_id": who.masked,
            "person_name": name,
            "event_date": since,
            "published": False,
            "document_no": optional(source, "document_no"),
            "authority": optional(source, "authority"),
            "category": ground,
            "flags": flags,
            "rule_set_id": rule_ids(since[keep]),
        },
        pd.DataFrame(
            {"ground_text": ground_text, "offence": offence, "enterprise_name": optional(source, "enterprise_name")}
        ),
    )
    persons = who.persons.loc[who.persons.index.intersection(keep)]
    if subjects is None:
        return Batch(facts, rejects.frame(), persons=persons)
    return Batch(
        facts,
        rejects.frame(),
        entities=entity_stubs(subjects, keep.intersection(given[given].index), optional(source, "enterprise_name")),
        persons=persons,
        aliases=subjects.aliases,
    )

"""The indicator system of RULES.md §1, computed for every entity as of one date.

Each group function declares its indicators (``indicator_group``) and computes them from the
facts known at the end of the date (``AsOf``): a fact recorded later, or a detail dated later
(a removal, a verdict, a check), is not there yet. Windows are in days (a year is 365).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from credit_engine.features.catalogue import GROUP_FUNCTIONS, Feature, feature_names, indicator_group, schema
from credit_engine.features.history import History
from credit_engine.frames import positions
from credit_engine.linking import court_listed_roles, latest_legal_rep, related_listed, serious_listed_from
from credit_engine.records import end_of_day, known_at_mask

DAY = np.timedelta64(1, "D")
YEAR = 365 * DAY
#: Months since the last event, for entities that never had one.
NEVER_MONTHS = 120.0
#: A complaint's verdict is taken as known this long after it was registered (the source has no
#: verdict date; an assumption, so that no verdict reaches an earlier as-of date).
VERDICT_LAG = 60 * DAY
#: A legal representative appointed this soon after establishment is the first, not a change.
FIRST_APPOINTMENT = 30 * DAY
INACTIVE_STATUSES = ("吊销", "注销", "迁出")
TAX_GRADES = {"A": 0.0, "B": 1.0, "M": 2.0, "C": 3.0, "D": 4.0}


def eq(values: pd.Series, value: object) -> np.ndarray:
    """``values == value`` as a plain boolean array, missing values false."""
    return (values == value).fillna(False).to_numpy(dtype=bool)


def where(f: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows of ``f`` under ``mask``; ``f`` itself when that is all of them, as it often is
    for one entity (indexing costs a fraction of a millisecond even then)."""
    return f if mask.all() else f[mask]


class AsOf:
    """The facts of a ``History`` as the store knew them at the end of one date."""

    def __init__(self, history: History, as_of: date) -> None:
        if not history.first <= as_of <= history.last:
            raise ValueError(f"{as_of} is outside the loaded history {history.first}..{history.last}")
        self.history = history
        self.as_of = as_of
        self.day = np.datetime64(as_of, "us")
        self.n = len(history.entities)
        self._known: dict[str, pd.DataFrame] = {}

    def facts(self, kind: str) -> pd.DataFrame:
        """Versions known on the date whose event (if dated) has happened by then."""
        if kind not in self._known:
            f = self.history.kind(kind)
            mask = known_at_mask(f["recorded_at"], f["superseded_at"], end_of_day(self.as_of))
            event = f["event_date"].to_numpy(dtype="datetime64[us]")
            self._known[kind] = where(f, mask & (np.isnat(event) | (event <= self.day)))
        return self._known[kind]

    def adverse(self, kind: str) -> pd.DataFrame:
        """Facts still counting against the entity: repaired ones no longer do (RULES.md §3)."""
        f = self.facts(kind)
        return where(f, eq(f["status"], "active"))

    def events(self, f: pd.DataFrame) -> np.ndarray:
        return f["event_date"].to_numpy(dtype="datetime64[us]")

    def within(self, f: pd.DataFrame, span: np.timedelta64) -> np.ndarray:
        return self.events(f) > self.day - span

    def active(self, f: pd.DataFrame) -> np.ndarray:
        """Not ended on the date: an end dated later is not known to be an end yet."""
        end = f["end_date"].to_numpy(dtype="datetime64[us]")
        return np.isnat(end) | (end > self.day)

    def serious_listed(self, f: pd.DataFrame) -> np.ndarray:
        """Serious-list entries still on the list: not removed, nor past their years."""
        return self.active(f) & (self.events(f) > np.datetime64(serious_listed_from(self.as_of), "us"))

    def count(self, f: pd.DataFrame, mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        rows = f["e"].to_numpy()
        keep = rows >= 0 if mask is None else (rows >= 0) & mask
        w = None if weights is None else np.nan_to_num(np.asarray(weights, dtype=float))[keep]
        return np.bincount(rows[keep], weights=w, minlength=self.n).astype(float)

    def months_since_last(self, f: pd.DataFrame, mask: np.ndarray | None = None) -> np.ndarray:
        rows = f["e"].to_numpy()
        keep = (rows >= 0) & ~np.isnat(self.events(f))
        keep = keep if mask is None else keep & mask
        last = np.full(self.n, np.datetime64("NaT"), dtype="datetime64[us]")
        order = np.argsort(self.events(f)[keep], kind="stable")
        last[rows[keep][order]] = self.events(f)[keep][order]  # later events overwrite earlier ones
        months = (self.day - last) / (30.4375 * DAY)  # type: ignore[operator]  # numpy stub: datetime64 arrays divide by timedelta64
        return np.where(np.isnat(last), NEVER_MONTHS, np.minimum(months, NEVER_MONTHS))

    def latest(self, f: pd.DataFrame, values: np.ndarray) -> np.ndarray:
        """The value of each entity's latest dated fact (NaN where none)."""
        rows = f["e"].to_numpy()
        keep = (rows >= 0) & ~np.isnat(self.events(f))
        out = np.full(self.n, np.nan)
        order = np.argsort(self.events(f)[keep], kind="stable")
        out[rows[keep][order]] = np.asarray(values, dtype=float)[keep][order]
        return out

    def exposure_years(self, most: float) -> np.ndarray:
        """Years each entity could have had events, from establishment to the date, between half a
        year and ``most`` (the window a rate counts over): the denominator of a rate per year."""
        established = self.history.entities["established_on"].to_numpy(dtype="datetime64[us]")
        age = (self.day - established) / (365.25 * DAY)
        return np.clip(np.where(np.isnan(age), most, age), 0.5, most)

    def decay(self, f: pd.DataFrame, half_life_years: float) -> np.ndarray:
        """Each fact's weight by its age on the date: halved every ``half_life_years``."""
        age = (self.day - self.events(f)) / YEAR  # type: ignore[operator]  # numpy stub: datetime64 arrays divide by timedelta64
        return np.where(np.isnan(age), 0.0, 0.5 ** (np.clip(age, 0, None) / half_life_years))

    def current_roles(self) -> pd.DataFrame:
        """Roles in force on the date, one legal representative per enterprise (uscc, person_key,
        role, start, end, fact_key): both related-enterprise groups start from them."""
        if "_roles" not in self._known:
            r = self.facts("role")
            r = where(
                r,
                eq(r["status"], "active")
                & self.active(r)
                & r["subject_uscc"].notna().to_numpy()
                & r["person_key"].notna().to_numpy(),
            )
            self._known["_roles"] = latest_legal_rep(
                pd.DataFrame(
                    {
                        "uscc": r["subject_uscc"],
                        "person_key": r["person_key"],
                        "role": r["category"],
                        "start": r["event_date"],
                        "end": r["end_date"],
                        "fact_key": r["fact_key"],
                    }
                )
            )
        return self._known["_roles"]

    def rows_of(self, usccs: pd.Series) -> np.ndarray:
        return positions(self.history.entities["uscc"], usccs)


@indicator_group(
    "basic",
    Feature("age_years", "成立年限", "years since establishment on the as-of date", -1),
    Feature("log_capital", "注册资本（对数）", "log(1 + registered capital in yuan)", 0),
    Feature("individual_business", "个体工商户", "1 for an individual business (USCC prefix 92)", 0),
    Feature("industry_section", "行业门类", "GB/T 4754 section of the industry code, A=1 … T=20", 0, categorical=True),
    Feature("inactive_status", "登记状态异常", "1 when the latest registration known is 吊销/注销/迁出", 1),
)
def _basic(v: AsOf) -> dict[str, np.ndarray]:
    ent = v.history.entities
    established = ent["established_on"].to_numpy(dtype="datetime64[us]")
    age = np.clip((v.day - established) / (365.25 * DAY), 0, None)
    capital = pd.to_numeric(ent["registered_capital_yuan"], errors="coerce").to_numpy(dtype=float)
    section = ent["industry_code"].astype("string").str.slice(0, 1).str.upper()
    code = section.map(lambda s: float(ord(s) - ord("A") + 1) if isinstance(s, str) and "A" <= s <= "T" else np.nan)
    reg = v.facts("registration")
    inactive = v.latest(reg, reg["category"].isin(INACTIVE_STATUSES).fillna(False).to_numpy(dtype=float))
    return {
        "age_years": age,
        "log_capital": np.log1p(np.clip(capital, 0, None)),
        "individual_business": eq(ent["entity_type"], "individual_business").astype(float),
        "industry_section": code.to_numpy(dtype=float),
        "inactive_status": np.nan_to_num(inactive),
    }


@indicator_group(
    "dynamic",
    Feature("registration_changes_3y", "近3年登记变更次数", "registration records approved in the last 3 years", 0),
    Feature(
        "legal_rep_changes_3y",
        "近3年法定代表人变更次数",
        "legal representatives appointed in the last 3 years, not counting the first",
        1,
    ),
    Feature(
        "key_person_changes_3y",
        "近3年主要人员变动次数",
        "key-person appointments and departures in the last 3 years",
        1,
    ),
    Feature(
        "annual_report_abnormal_3y",
        "近3年未按时年报列异次数",
        "abnormal-list entries for a missing annual report in the last 3 years",
        1,
    ),
)
def _dynamic(v: AsOf) -> dict[str, np.ndarray]:
    roles = v.facts("role")
    start = v.events(roles)
    end = roles["end_date"].to_numpy(dtype="datetime64[us]")
    established = v.history.entities["established_on"].to_numpy(dtype="datetime64[us]")
    rows = roles["e"].to_numpy()
    est = np.where(rows >= 0, established[np.clip(rows, 0, None)], np.datetime64("NaT"))
    later = ~np.isnat(start) & (np.isnat(est) | (start > est + FIRST_APPOINTMENT))
    recent_start = later & v.within(roles, 3 * YEAR)
    recent_end = ~np.isnat(end) & (end <= v.day) & (end > v.day - 3 * YEAR)
    is_rep = eq(roles["category"], "legal_representative")
    abnormal = v.facts("abnormal")
    return {
        "registration_changes_3y": v.count(v.facts("registration"), v.within(v.facts("registration"), 3 * YEAR)),
        "legal_rep_changes_3y": v.count(roles, recent_start & is_rep),
        "key_person_changes_3y": v.count(roles, recent_start | recent_end),
        "annual_report_abnormal_3y": v.count(
            abnormal, v.within(abnormal, 3 * YEAR) & eq(abnormal["category"], "annual_report")
        ),
    }


@indicator_group(
    "supervision",
    Feature("penalties_1y", "近1年行政处罚次数", "administrative penalties decided in the last 12 months", 1),
    Feature("penalties_3y", "近3年行政处罚次数", "administrative penalties decided in the last 3 years", 1),
    Feature("serious_penalties_3y", "近3年严重行政处罚次数", "penalties of the serious tier in the last 3 years", 1),
    Feature("log_fines_3y", "近3年罚款总额（对数）", "log(1 + fines in yuan) over the last 3 years", 1),
    Feature("months_since_penalty", "距最近处罚月数", "months since the latest penalty (120 if none)", -1),
    Feature("licences_active", "有效行政许可数", "administrative licences in force", 0),
    Feature("abnormal_active", "经营异常名录在列", "entries on the abnormal list not yet removed", 1),
    Feature("abnormal_5y", "近5年列入经营异常名录次数", "abnormal-list entries in the last 5 years", 1),
    Feature(
        "serious_active",
        "严重违法失信名单在列",
        "entries on the serious-violation list not yet removed nor past their 3 years (SAMR Order 44)",
        1,
    ),
    Feature(
        "court_active",
        "失信被执行人在列（企业）",
        "the enterprise's active listings as a dishonest judgement debtor",
        1,
    ),
    Feature("court_5y", "近5年失信被执行人次数（企业）", "court listings of the enterprise in the last 5 years", 1),
    Feature("inspections_3y", "近3年抽查检查次数", "inspections with an outcome in the last 3 years", 0),
    Feature(
        "inspection_problems_3y", "近3年检查发现问题次数", "inspections that found a problem in the last 3 years", 1
    ),
    Feature("months_since_inspection", "距最近检查月数", "months since the latest inspection (120 if none)", 0),
)
def _supervision(v: AsOf) -> dict[str, np.ndarray]:
    """Counts in fixed windows (RULES.md §1)."""
    pen = v.adverse("penalty")
    recent = v.within(pen, 3 * YEAR)
    amount = pen["amount_yuan"].to_numpy(dtype=float)
    lic = v.facts("license")
    lists = {name: v.adverse(name) for name in ("abnormal", "serious", "court")}
    court = lists["court"][lists["court"]["e"].to_numpy() >= 0]
    ins = v.facts("inspection")
    judged_any = eq(ins["category"], "ok") | eq(ins["category"], "problem")
    judged = v.within(ins, 3 * YEAR) & judged_any
    return {
        "penalties_1y": v.count(pen, v.within(pen, YEAR)),
        "penalties_3y": v.count(pen, recent),
        "serious_penalties_3y": v.count(pen, recent & eq(pen["severity"], "serious")),
        "log_fines_3y": np.log1p(v.count(pen, recent, weights=amount)),
        "months_since_penalty": v.months_since_last(pen),
        "licences_active": v.count(lic, v.active(lic)),
        "abnormal_active": v.count(lists["abnormal"], v.active(lists["abnormal"])),
        "abnormal_5y": v.count(lists["abnormal"], v.within(lists["abnormal"], 5 * YEAR)),
        "serious_active": v.count(lists["serious"], v.serious_listed(lists["serious"])),
        "court_active": v.count(court, v.active(court)),
        "court_5y": v.count(court, v.within(court, 5 * YEAR)),
        "inspections_3y": v.count(ins, judged),
        "inspection_problems_3y": v.count(ins, judged & eq(ins["category"], "problem")),
        "months_since_inspection": v.months_since_last(ins, judged_any),
    }


@indicator_group(
    "related",
    Feature(
        "legal_rep_court_listed",
        "法定代表人失信被执行",
        "1 when the legal representative is an active court-list debtor",
        1,
    ),
    Feature(
        "key_persons_court_listed",
        "其他主要人员失信被执行",
        "directors, supervisors and managers who are active court-list debtors",
        1,
    ),
    Feature(
        "related_dishonest_enterprises",
        "关联失信企业数",
        "other enterprises sharing a person that are on the serious or court list",
        1,
    ),
    Feature(
        "legal_rep_other_enterprises",
        "法定代表人关联企业数",
        "other enterprises in which the legal representative holds a role",
        1,
    ),
)
def _related(v: AsOf) -> dict[str, np.ndarray]:
    roles = v.current_roles()
    # the other enterprises of an enterprise's one legal representative: all those the person holds a role in, but this
    enterprise = pd.factorize(roles["uscc"])[0].astype(np.int64)
    person = pd.factorize(roles["person_key"])[0]
    width = len(roles) + 1
    held = np.bincount(pd.unique(enterprise * width + person) % width, minlength=width)  # enterprises per person
    rep = eq(roles["role"], "legal_representative")
    out = {"legal_rep_other_enterprises": _per_entity(v, roles["uscc"][rep], held[person[rep]] - 1.0)}
    court = v.adverse("court")
    court = where(court, v.active(court))
    serious = v.adverse("serious")
    serious = where(serious, v.serious_listed(serious))
    if court.empty and serious.empty:  # nothing to relate, as in most re-grades of one entity: skip the merges
        return out | {
            name: np.zeros(v.n)
            for name in ("legal_rep_court_listed", "key_persons_court_listed", "related_dishonest_enterprises")
        }
    # frames built from their columns: dropna, rename and concat cost a re-grade near a listing milliseconds
    debtors = court[court["person_key"].notna().to_numpy()]
    debtors = pd.DataFrame(
        {
            "person_key": debtors["person_key"],
            "case_no": debtors["document_no"],
            "filed": debtors["event_date"],
            "fact_key": debtors["fact_key"],
        }
    )
    listed = [f[f["subject_uscc"].notna().to_numpy()] for f in (serious, court)]
    listings = pd.DataFrame(
        {
            name: np.concatenate([f[column].to_numpy(dtype=object) for f in listed])
            for name, column in (("uscc", "subject_uscc"), ("kind", "kind"), ("fact_key", "fact_key"))
        }
    )

    barred = court_listed_roles(roles, debtors)
    rep = eq(barred["role"], "legal_representative")
    related = related_listed(roles, listings)
    return out | {
        "legal_rep_court_listed": _distinct_per_entity(v, barred["uscc"][rep]),
        "key_persons_court_listed": _distinct_per_entity(v, barred["uscc"][~rep], barred["person_key"][~rep]),
        "related_dishonest_enterprises": _distinct_per_entity(v, related["uscc"], related["uscc_listed"]),
    }


def _per_entity(v: AsOf, usccs: pd.Series, weights: np.ndarray | None = None) -> np.ndarray:
    """How many of ``usccs`` name each entity (or the sum of their ``weights``)."""
    rows = v.rows_of(usccs)
    kept = rows >= 0
    return np.bincount(rows[kept], weights=None if weights is None else weights[kept], minlength=v.n).astype(float)


def _distinct_per_entity(v: AsOf, usccs: pd.Series, others: pd.Series | None = None) -> np.ndarray:
    """How many distinct ``others`` each entity of ``usccs`` is paired with (without ``others``:
    1 for an entity named at all)."""
    rows = v.rows_of(usccs)
    codes = np.zeros(len(rows), dtype=np.int64) if others is None else pd.factorize(others, use_na_sentinel=False)[0]
    width = len(rows) + 1
    # one per distinct pair (-1: not loaded); pandas' hash is faster than numpy's sort: 412 000 pairs 22 against 141 ms
    entities = pd.unique(rows.astype(np.int64) * width + codes) // width
    return np.bincount(entities[entities >= 0], minlength=v.n).astype(float)


@indicator_group(
    "social",
    Feature(
        "tax_grade", "纳税信用等级", "latest published tax-credit grade: A=0, B=1, M=2, C=3, D=4 (missing if none)", 1
    ),
    Feature("complaints_1y", "近1年投诉举报次数", "12315 complaints registered in the last 12 months", 1),
    Feature(
        "complaints_substantiated_3y",
        "近3年投诉属实次数",
        "complaints found substantiated in the last 3 years (verdict assumed known 60 days after registration)",
        1,
    ),
    Feature("commitments_3y", "近3年信用承诺次数", "credit commitments made in the last 3 years", 0),
    Feature(
        "commitments_broken_3y",
        "近3年违反信用承诺次数",
        "commitments found broken by a check dated by the as-of date",
        1,
    ),
)
def _social(v: AsOf) -> dict[str, np.ndarray]:
    tax = v.facts("tax")
    comp = v.facts("complaint")
    heard = v.events(comp) + VERDICT_LAG <= v.day
    com = v.facts("commitment")
    checked = pd.to_datetime(com["extra2"], errors="coerce").to_numpy(dtype="datetime64[us]")
    broken = eq(com["extra"], "未履约") & ~np.isnat(checked) & (checked <= v.day)
    return {
        "tax_grade": v.latest(tax, tax["category"].map(TAX_GRADES).astype(float).to_numpy()),
        "complaints_1y": v.count(comp, v.within(comp, YEAR)),
        "complaints_substantiated_3y": v.count(comp, v.within(comp, 3 * YEAR) & heard & eq(comp["extra"], "是")),
        "commitments_3y": v.count(com, v.within(com, 3 * YEAR)),
        "commitments_broken_3y": v.count(com, v.within(com, 3 * YEAR) & broken),
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, missing where the denominator is 0 (no exposure: nothing to rate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


#: Inspection results lose half their weight in this many years.
INSPECTION_HALF_LIFE = 3.0
#: Rates per year count over at most this many years.
RATE_YEARS = 10.0


@indicator_group(
    "supervision",
    Feature(
        "penalties_per_year",
        "年均行政处罚次数",
        "penalties decided in the last 10 years per year of existence in them (at least half a year)",
        1,
    ),
    Feature(
        "log_fine_per_penalty",
        "单次罚款（对数均值）",
        "mean log(1 + fine in yuan) of the penalties of the last 10 years (missing if none)",
        1,
    ),
    Feature(
        "inspections_per_year",
        "年均抽查检查次数",
        "inspections with an outcome in the last 10 years per year of existence: the entity's exposure",
        0,
    ),
    Feature(
        "inspection_problem_rate",
        "检查发现问题率（时间衰减）",
        "share of inspections that found a problem, each weighted by half every 3 years (missing if none)",
        1,
    ),
    Feature(
        "inspections_weighted",
        "检查次数（时间衰减）",
        "inspections with an outcome, each weighted by half every 3 years: how much the rate rests on",
        0,
    ),
    Feature(
        "inspection_problems_trend",
        "近1年检查问题率减往年",
        "1 + the problem share of the last 12 months' inspections minus that of the years before "
        "(1 if either has none)",
        1,
    ),
)
def _supervision_rates(v: AsOf) -> dict[str, np.ndarray]:
    """Rates per year of existence and per inspection: a count over a fixed window says less of
    a young entity than of an old one, and counts of inspections rise with how often one is drawn."""
    pen = v.facts("penalty")
    pen = where(pen, v.within(pen, RATE_YEARS * YEAR))
    amount = np.log1p(np.clip(np.nan_to_num(pen["amount_yuan"].to_numpy(dtype=float)), 0, None))
    penalties = v.count(pen)
    ins = v.facts("inspection")
    ins = where(ins, (eq(ins["category"], "ok") | eq(ins["category"], "problem")) & v.within(ins, RATE_YEARS * YEAR))
    problem = eq(ins["category"], "problem")
    weight = v.decay(ins, INSPECTION_HALF_LIFE)
    weighted = v.count(ins, weights=weight)
    last_year = v.within(ins, YEAR)
    recent = _ratio(v.count(ins, last_year & problem), v.count(ins, last_year))
    before = _ratio(v.count(ins, ~last_year & problem), v.count(ins, ~last_year))
    return {
        "penalties_per_year": penalties / v.exposure_years(RATE_YEARS),
        "log_fine_per_penalty": _ratio(v.count(pen, weights=amount), penalties),
        "inspections_per_year": v.count(ins) / v.exposure_years(RATE_YEARS),
        "inspection_problem_rate": _ratio(v.count(ins, problem, weights=weight), weighted),
        "inspections_weighted": weighted,
        # a trend is a difference and may be negative: shifted by 1 so that the catalogue's
        # "never negative" holds (0.0 none better than before … 1 unchanged … 2.0 all worse)
        "inspection_problems_trend": 1.0 + np.nan_to_num(recent - before),
    }


@indicator_group(
    "social",
    Feature(
        "tax_grade_mean",
        "纳税信用等级均值",
        "mean of every tax-credit grade A=0 … D=4 published so far, M (newly established) left out (missing if none)",
        1,
    ),
    Feature(
        "complaints_per_year", "年均投诉举报次数", "complaints registered in the last 10 years per year of existence", 1
    ),
    Feature(
        "complaints_substantiated_rate",
        "投诉属实率",
        "share of the complaints with a verdict known (60 days after registration) found substantiated",
        1,
    ),
    Feature(
        "commitments_broken_rate", "信用承诺违反率", "share of the commitments checked by the date found broken", 1
    ),
)
def _social_rates(v: AsOf) -> dict[str, np.ndarray]:
    """The yearly tax grade is a noisy reading of the same conduct each year: their mean says
    more than the latest one. Shares rather than counts, for the same reason as the rates above."""
    tax = v.facts("tax")
    grade = tax["category"].map(TAX_GRADES).astype(float).to_numpy()
    graded = ~np.isnan(grade) & ~eq(tax["category"], "M")
    comp = v.facts("complaint")
    comp = where(comp, v.within(comp, RATE_YEARS * YEAR))
    heard = v.events(comp) + VERDICT_LAG <= v.day
    com = v.facts("commitment")
    checked_on = pd.to_datetime(com["extra2"], errors="coerce").to_numpy(dtype="datetime64[us]")
    checked = (
        ~np.isnat(checked_on) & (checked_on <= v.day) & com["extra"].isin(["履约", "未履约"]).fillna(False).to_numpy()
    )
    return {
        "tax_grade_mean": _ratio(v.count(tax, graded, weights=np.nan_to_num(grade)), v.count(tax, graded)),
        "complaints_per_year": v.count(comp) / v.exposure_years(RATE_YEARS),
        "complaints_substantiated_rate": _ratio(v.count(comp, heard & eq(comp["extra"], "是")), v.count(comp, heard)),  # type: ignore[arg-type]  # numpy stub: heard is a boolean array
        "commitments_broken_rate": _ratio(v.count(com, checked & eq(com["extra"], "未履约")), v.count(com, checked)),
    }


@indicator_group(
    "related",
    Feature(
        "persons_court_5y",
        "主要人员近5年失信被执行次数",
        "court listings in the last 5 years, removed or not, of the current legal representative and key persons",
        1,
    ),
    Feature(
        "related_court_5y",
        "关联企业近5年失信被执行次数",
        "court listings in the last 5 years, removed or not, of the other enterprises sharing a person",
        1,
    ),
    Feature(
        "related_tax_grade_mean",
        "关联企业纳税信用等级均值",
        "mean tax-credit grade (A=0 … D=4, M left out) of the other enterprises sharing a current person "
        "(missing if none is graded)",
        1,
    ),
)
def _related_history(v: AsOf) -> dict[str, np.ndarray]:
    """The past of the people behind an entity, not only what is active today: a debtor who has
    paid, or an enterprise of the same people that was listed and removed, still says who they are;
    and the tax grades of the people's other enterprises say how those people run a business.
    In integer codes: pandas' merges of the text keys cost a 20 000-entity span seconds."""
    roles = v.current_roles()
    none = {
        "persons_court_5y": np.zeros(v.n),
        "related_court_5y": np.zeros(v.n),
        "related_tax_grade_mean": np.full(v.n, np.nan),
    }
    if roles.empty:
        return none
    court = v.facts("court")
    court = where(court, v.within(court, 5 * YEAR))
    tax = v.facts("tax")
    grade = tax["category"].map(TAX_GRADES).astype(float).to_numpy()
    graded = ~np.isnan(grade) & ~eq(tax["category"], "M")
    # enterprises and persons as codes, among the roles' own and those the listings name
    firm, firms = pd.factorize(roles["uscc"])
    person, people = pd.factorize(roles["person_key"])
    firms, people = pd.Series(firms), pd.Series(people)
    pair = pd.unique(firm.astype(np.int64) * len(people) + person)
    firm, person = pair // len(people), pair % len(people)
    listed = court.drop_duplicates("fact_key")
    per_person = np.bincount(_codes_in(people, listed["person_key"]), minlength=len(people) + 1)[:-1]
    per_firm = np.bincount(_codes_in(firms, listed["subject_uscc"]), minlength=len(firms) + 1)[:-1].astype(float)
    tax_firm = _codes_in(firms, tax["subject_uscc"][graded])
    tax_sum = np.bincount(tax_firm, weights=grade[graded], minlength=len(firms) + 1)[:-1]
    tax_count = np.bincount(tax_firm, minlength=len(firms) + 1)[:-1].astype(float)
    # distinct (enterprise, other enterprise) pairs sharing a person
    by_person = np.argsort(person, kind="stable")
    mine, theirs = _same_key_pairs(person[by_person])
    a, b = firm[by_person][mine], firm[by_person][theirs]
    other = pd.unique(a[a != b] * len(firms) + b[a != b])
    a, b = other // len(firms), other % len(firms)
    on_firm = lambda values: np.bincount(a, weights=values[b], minlength=len(firms))  # noqa: E731
    rows = v.rows_of(firms)
    kept = rows >= 0

    def spread(values: np.ndarray) -> np.ndarray:
        out = np.zeros(v.n)
        out[rows[kept]] = values[kept]
        return out

    return {
        "persons_court_5y": spread(np.bincount(firm, weights=per_person[person], minlength=len(firms))),
        "related_court_5y": spread(on_firm(per_firm)),
        "related_tax_grade_mean": _ratio(spread(on_firm(tax_sum)), spread(on_firm(tax_count))),
    }


def _codes_in(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Each value's position in ``keys``, ``len(keys)`` where it is missing or absent (a bin to drop)."""
    codes = positions(keys, values)
    return np.where(codes < 0, len(keys), codes)


def _same_key_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair of positions ``(i, j)`` of sorted ``keys`` with ``keys[i] == keys[j]``."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    group_start, group_size = np.repeat(starts, sizes), np.repeat(sizes, sizes)
    i = np.repeat(np.arange(len(keys)), group_size)
    j = np.repeat(group_start, group_size) + (
        np.arange(len(i)) - np.repeat(np.cumsum(group_size) - group_size, group_size)
    )
    return i, j


def features_as_of(history: History, as_of: date) -> pd.DataFrame:
    """Every indicator for every entity of ``history`` as of ``as_of``, indexed by USCC."""
    view = AsOf(history, as_of)
    columns: dict[str, np.ndarray] = {}
    for group, compute, names in GROUP_FUNCTIONS:
        out = compute(view)
        if set(out) != set(names):
            raise RuntimeError(f"group {group} computed {sorted(out)}, declared {sorted(names)}")
        columns.update(out)
    frame = pd.DataFrame(columns, index=pd.Index(history.entities["uscc"], name="uscc"))[feature_names()]
    return schema().validate(frame.astype(float))

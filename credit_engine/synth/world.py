"""The latent world: entities, persons, their roles, and the hidden risk that drives events.

Everything is drawn column-wise with numpy so a million entities cost seconds. The risk of an
entity mixes its own noise with industry, age and the risk of its key persons, so dishonesty
clusters around people — the signal the linking and scoring stages must recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from stdnum.cn import ric

from . import ids, regions, vocab
from .dates import NA_DAY, day, to_date

ADULT_DAYS = 6575  # 18 years
_PROBLEM_INTERCEPT = -2.0
_PROBLEM_SLOPE = 1.35  # AUC of latent risk against realised problems ~0.8
_USCC_REFORM = day(date(2015, 10, 1))  # entities registered earlier also carry a 注册号


def problem_probability(risk: np.ndarray) -> np.ndarray:
    """Chance that one inspection finds a problem: smooth and increasing in latent risk."""
    return 1.0 / (1.0 + np.exp(-(_PROBLEM_INTERCEPT + _PROBLEM_SLOPE * risk)))


@dataclass(frozen=True)
class World:
    """The hidden state of the province on ``as_of`` (a day number)."""

    as_of: int
    entities: pd.DataFrame
    persons: pd.DataFrame
    roles: pd.DataFrame
    regions: regions.RegionTable


def _pick(rng: np.random.Generator, options: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return options[rng.choice(len(options), size=n, p=weights / weights.sum())]


def _industries(rng: np.random.Generator, prefix: np.ndarray) -> np.ndarray:
    """An industry index per entity, among the industries open to its prefix."""
    out = np.empty(len(prefix), dtype=np.int64)
    for p in "123":
        allowed = np.array([i for i, ind in enumerate(vocab.INDUSTRIES) if p in ind.prefixes])
        weights = np.array([vocab.INDUSTRIES[i].weight for i in allowed], dtype=float)
        mask = prefix == p
        out[mask] = _pick(rng, allowed, weights, int(mask.sum()))
    return out


def _established(rng: np.random.Generator, n: int, as_of: int) -> np.ndarray:
    """Registration days from 1995, growing about 9 % a year like the real register."""
    last_year = to_date(as_of).year
    years = np.arange(1995, last_year + 1)
    year = _pick(rng, years, np.exp(0.09 * (years - 1995)), n)
    start = np.array([day(date(int(y), 1, 1)) for y in years])[year - 1995]
    est = start + rng.integers(0, 365, size=n)
    return np.minimum(est, as_of - 1)


def _brands(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    chars = np.array(list(vocab.BRAND_CHARS))
    return ids.text(rng.integers(0, len(chars), size=(n, length)), chars)


def _names(rng: np.random.Generator, ent: pd.DataFrame, reg: regions.RegionTable) -> np.ndarray:
    """Chinese entity names, unique within the province (brands lengthen on collision)."""
    city, county = reg.city[ent["region"]], reg.county[ent["region"]]
    is_county_city = np.array([c.endswith("市") for c in county])
    town = np.where(is_county_city, county, city)
    local = np.where(np.array([c.endswith("区") for c in county]), city + county, county)
    local = np.where(local == "", city, local)
    ind = [vocab.INDUSTRIES[i] for i in ent["industry"]]
    word = np.array([i.word for i in ind], dtype=object)
    shop = np.array([i.shop for i in ind], dtype=object)
    prefix = ent["prefix"].to_numpy()
    ending = ent["form_ending"].to_numpy()
    provincial = rng.random(len(ent)) < 0.1
    place = np.where(prefix == "1", np.where(provincial, "黑龙江", town), local)
    brand = _brands(rng, len(ent), 2)
    names = np.empty(len(ent), dtype=object)
    for length in (3, 4, 4, 4):
        names = np.where(
            prefix == "1",
            place + brand + word + ending,
            np.where(prefix == "2", place + brand + shop, place + brand + word + "专业合作社"),
        )
        dup = pd.Series(names).duplicated().to_numpy()
        if not dup.any():
            break
        brand[dup] = _brands(rng, int(dup.sum()), length)
    return names


def _birthplaces(rng: np.random.Generator, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Birthplace codes valid for each birth year (python-stdnum's code table decides)."""
    legacy = birth < day(date(1984, 1, 1))
    codes = np.empty(len(birth), dtype=object)
    pending = np.ones(len(birth), dtype=bool)
    for _ in range(4):
        for era, table in ((True, regions.PERSON_REGIONS_LEGACY), (False, regions.PERSON_REGIONS_MODERN)):
            mask = pending & (legacy == era)
            options = np.array([c for c, _ in table], dtype=object)
            weights = np.array([w for _, w in table], dtype=float)
            codes[mask] = _pick(rng, options, weights, int(mask.sum()))
        pending &= ~_valid_birthplaces(codes, birth, seq)
        if not pending.any():
            return codes
    codes[pending] = regions.PERSON_REGION_FALLBACK
    return codes


def _valid_birthplaces(codes: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Check each distinct (code, birth year) pair once with stdnum on a real ID of the pair."""
    full = ids.resident_ids(codes, birth.astype("datetime64[D]"), seq)
    years = birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    key = pd.Series(codes.astype(str)) + ":" + pd.Series(years).astype(str)
    first = ~key.duplicated()
    verdict = pd.Series([ric.is_valid(x) for x in full[first.to_numpy()]], index=key[first])
    return verdict.reindex(key).to_numpy(dtype=bool)


def _persons(rng: np.random.Generator, n: int, as_of: int) -> pd.DataFrame:
    """Adults with valid, distinct resident IDs and names from short lists (namesakes occur)."""
    latest = min(day(date(2004, 12, 31)), as_of - 19 * 366)
    earliest = day(date(1950, 1, 1))
    centre = day(date(1975, 1, 1))
    birth = np.clip(np.round(rng.normal(centre, 11 * 365, n)), earliest, latest).astype(np.int64)
    male = rng.random(n) < 0.62
    seq = rng.integers(0, 500, n) * 2 + male
    region = _birthplaces(rng, birth, seq)
    id_no = ids.resident_ids(region, birth.astype("datetime64[D]"), seq)
    for _ in range(20):
        dup = pd.Series(id_no).duplicated().to_numpy()
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup]
        id_no[dup] = ids.resident_ids(region[dup], birth[dup].astype("datetime64[D]"), seq[dup])
    surnames = np.array(list(vocab.SURNAMES), dtype=object)
    surname = _pick(rng, surnames, np.array(vocab.SURNAME_WEIGHTS), n)
    pools = {True: np.array(list(vocab.GIVEN_MALE)), False: np.array(list(vocab.GIVEN_FEMALE))}
    given = np.empty(n, dtype=object)
    two = rng.random(n) < 0.6
    for sex, pool in pools.items():
        mask = male == sex
        k = int(mask.sum())
        one = pool[rng.integers(0, len(pool), k)].astype(object)
        second = pool[rng.integers(0, len(pool), k)].astype(object)
        given[mask] = np.where(two[mask], one + second, one)
    return pd.DataFrame(
        {"id_no": id_no, "name": surname + given, "birth": birth, "male": male, "risk": rng.standard_normal(n)}
    )


def _draw_people(rng: np.random.Generator, n: int, n_lr: int, n_all: int, from_lr: float) -> np.ndarray:
    """Person indices for secondary roles; a share comes from people who already lead firms."""
    lr_people = rng.integers(0, n_lr, n)
    others = rng.integers(n_lr, n_all, n) if n_all > n_lr else lr_people
    return np.where(rng.random(n) < from_lr, lr_people, others)


def _roles(
    rng: np.random.Generator, ent: pd.DataFrame, n_lr: int, n_all: int, as_of: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Role rows (entity, person, role, start, end, share) and each entity's current legal
    representative; leading 2–4 firms is common, as in the real register."""
    n = len(ent)
    multiplicity = rng.choice([1, 2, 3, 4, 5], size=n_lr, p=[0.66, 0.2, 0.08, 0.04, 0.02])
    pool = rng.permutation(np.repeat(np.arange(n_lr), multiplicity))
    if len(pool) < n:
        pool = np.concatenate([pool, rng.integers(0, n_lr, n - len(pool))])
    lr = pool[:n]
    est = ent["est"].to_numpy()
    prefix = ent["prefix"].to_numpy()
    company = np.flatnonzero(prefix == "1")
    coop = np.flatnonzero(prefix == "3")
    parts: list[tuple[np.ndarray, np.ndarray, str]] = [(np.arange(n), lr, "法定代表人")]

    n_sh = rng.choice([1, 2, 3], size=len(company), p=[0.45, 0.4, 0.15])
    sh_ent = np.repeat(company, n_sh)
    sh_person = _draw_people(rng, len(sh_ent), n_lr, n_all, 0.5)
    first = np.r_[True, sh_ent[1:] != sh_ent[:-1]]
    own = first & (rng.random(len(sh_ent)) < 0.8)
    sh_person[own] = lr[sh_ent[own]]
    parts.append((sh_ent, sh_person, "股东"))
    for role, share, holders, from_lr in (
        ("监事", 0.9, np.concatenate([company, coop]), 0.4),
        ("财务负责人", 0.4, company, 0.2),
    ):
        who = holders[rng.random(len(holders)) < share]
        parts.append((who, _draw_people(rng, len(who), n_lr, n_all, from_lr), role))
    managed = company[rng.random(len(company)) < 0.7]
    manager = np.where(rng.random(len(managed)) < 0.6, lr[managed], _draw_people(rng, len(managed), n_lr, n_all, 0.3))
    parts.append((managed, manager, "经理"))
    boards = company[rng.random(len(company)) < 0.25]
    board_ent = np.repeat(boards, 3)
    parts.append((board_ent, _draw_people(rng, len(board_ent), n_lr, n_all, 0.5), "董事"))
    ctrl = company[rng.random(len(company)) < 0.3]
    parts.append((ctrl, lr[ctrl], "实际控制人"))

    roles = pd.DataFrame(
        {
            "entity": np.concatenate([p[0] for p in parts]),
            "person": np.concatenate([p[1] for p in parts]),
            "role": np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts]),
        }
    )
    supervisor_is_lr = (roles["role"] == "监事") & (roles["person"] == lr[roles["entity"]])
    roles = roles[~supervisor_is_lr].drop_duplicates(["entity", "person", "role"])
    roles = roles.sort_values(["entity", "role", "person"], kind="stable").reset_index(drop=True)

    m = len(roles)
    ent_est = est[roles["entity"].to_numpy()]
    late = rng.random(m) < 0.2
    start = np.where(late, ent_est + (rng.random(m) * (as_of - ent_est)).astype(np.int64), ent_est)
    ended = (rng.random(m) < 0.08) & (roles["role"].to_numpy() != "法定代表人")
    end = np.where(ended, start + (rng.random(m) * (as_of - start)).astype(np.int64), NA_DAY)
    roles["start"], roles["end"] = start, end

    # Some firms changed legal representative: the former one's role ended on the change day.
    changed = np.flatnonzero((as_of - est > 3 * 365) & (rng.random(n) < 0.12))
    change_day = est[changed] + 365 + (rng.random(len(changed)) * (as_of - 30 - est[changed] - 365)).astype(np.int64)
    former = pd.DataFrame(
        {
            "entity": changed,
            "person": rng.integers(0, n_lr, len(changed)),
            "role": "法定代表人",
            "start": est[changed],
            "end": change_day,
        }
    )
    former = former[former["person"].to_numpy() != lr[changed]]
    is_lr = roles["role"].to_numpy() == "法定代表人"
    current_start = pd.Series(change_day, index=changed)
    idx = np.flatnonzero(is_lr & np.isin(roles["entity"].to_numpy(), former["entity"].to_numpy()))
    roles.loc[idx, "start"] = current_start.reindex(roles["entity"].to_numpy()[idx]).to_numpy()
    roles = pd.concat([roles, former], ignore_index=True)

    holding = np.full(len(roles), np.nan)
    is_sh = roles["role"].to_numpy() == "股东"
    weights = rng.gamma(1.5, size=int(is_sh.sum()))
    total = pd.Series(weights).groupby(roles["entity"].to_numpy()[is_sh]).transform("sum").to_numpy()
    holding[is_sh] = np.round(100 * weights / total, 2)
    roles["share"] = holding
    roles = roles.sort_values(["entity", "role", "start", "person"], kind="stable")
    return roles.reset_index(drop=True), lr


def _adult_roles(roles: pd.DataFrame, birth: np.ndarray, as_of: int, rng: np.random.Generator) -> pd.DataFrame:
    """Nobody holds a role before 18: late starters start after their 18th birthday."""
    adult = birth[roles["person"].to_numpy()] + ADULT_DAYS
    start = roles["start"].to_numpy()
    young = start < adult
    fixed = np.minimum(adult + rng.integers(0, 365, len(roles)), as_of)
    start = np.where(young, fixed, start)
    end = roles["end"].to_numpy()
    end = np.where((end != NA_DAY) & (end <= start), NA_DAY, end)
    return roles.assign(start=start, end=end)


def _risk(
    rng: np.random.Generator, ent: pd.DataFrame, roles: pd.DataFrame, person_risk: np.ndarray, as_of: int
) -> np.ndarray:
    """Standardised latent risk: own noise, industry, youth, and the key persons' risk."""
    age = (as_of - ent["est"].to_numpy()) / 365.25
    age_effect = np.select([age < 2, age < 5, age > 10], [0.35, 0.15, -0.15], 0.0)
    industry = np.array([i.risk for i in vocab.INDUSTRIES])[ent["industry"].to_numpy()]
    lr_risk = person_risk[ent["lr"].to_numpy()]
    current = roles[(roles["end"] == NA_DAY) & (roles["role"] != "法定代表人")]
    others = pd.Series(person_risk[current["person"].to_numpy()]).groupby(current["entity"].to_numpy()).mean()
    other_risk = others.reindex(np.arange(len(ent))).fillna(0.0).to_numpy()
    raw = rng.standard_normal(len(ent)) + industry + age_effect + 0.7 * lr_risk + 0.3 * other_risk
    return (raw - raw.mean()) / raw.std()


def _status(rng: np.random.Generator, ent: pd.DataFrame, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """Registration status and, for ended entities, the day they ended."""
    n = len(ent)
    est = ent["est"].to_numpy()
    age = (as_of - est) / 365.25
    risk = ent["risk"].to_numpy()
    p_cancel = 0.08 * np.clip(age / 10, 0, 1.5)
    p_revoke = np.clip(age / 3, 0, 1) / (1 + np.exp(3.6 - 0.9 * risk))
    u = rng.random(n)
    status = np.where(rng.random(n) < 0.7, "存续", "在业").astype(object)
    status[u < p_cancel + p_revoke + 0.004] = "迁出"
    status[u < p_cancel + p_revoke] = "吊销"
    status[u < p_cancel] = "注销"
    status[(age < 1) | ent["pilot"].to_numpy()] = "存续"
    ended = np.isin(status, ["注销", "吊销", "迁出"])
    end = np.full(n, NA_DAY, dtype=np.int64)
    span = as_of - (est + 365)
    end[ended] = est[ended] + 365 + (rng.random(int(ended.sum())) * span[ended]).astype(np.int64)
    return status, end


def build_world(n: int, seed: int, as_of_date: date) -> World:
    """Draw the whole latent province; the same (n, seed, as_of) always gives the same world."""
    as_of = day(as_of_date)
    reg = regions.region_table()
    rng = ids.stream(seed, "entities")
    prefix = rng.choice(np.array(["1", "2", "3"]), size=n, p=[0.7, 0.24, 0.06]).astype(object)
    est = _established(rng, n, as_of)
    pilot = np.zeros(n, dtype=bool)
    companies = np.flatnonzero(prefix == "1")
    pilot[rng.choice(companies, size=min(len(companies), max(1, min(20, n // 500))), replace=False)] = True
    est[pilot] = day(date(2013, 1, 1)) + rng.integers(0, 900, int(pilot.sum()))
    forms = vocab.ENTERPRISE_FORMS
    form = rng.choice(len(forms), size=n, p=[f[2] for f in forms])
    ent = pd.DataFrame(
        {
            "prefix": prefix,
            "industry": _industries(rng, prefix),
            "region": rng.choice(len(reg.code), size=n, p=reg.weight),
            "est": est,
            "pilot": pilot,
            "form_ending": np.array([forms[f][0] for f in form], dtype=object),
            "mtype": np.where(
                prefix == "1",
                np.array([forms[f][1] for f in form], dtype=object),
                np.where(prefix == "2", "个体工商户", "农民专业合作社"),
            ),
        }
    )
    _codes(rng, ent, reg)
    ent["name"] = _names(rng, ent, reg)
    ent = ent.drop(columns="form_ending")

    prng = ids.stream(seed, "persons")
    n_lr = int(np.ceil(n / 1.52 * 1.03)) + 1
    n_all = n_lr + int(np.ceil(0.45 * n)) + 1
    roles, lr = _roles(prng, ent, n_lr, n_all, as_of)
    persons = _persons(prng, n_all, as_of)
    roles = _adult_roles(roles, persons["birth"].to_numpy(), as_of, prng)
    # Keep only people who hold a role, renumbered densely.
    used = np.unique(roles["person"].to_numpy())
    renumber = np.full(n_all, -1)
    renumber[used] = np.arange(len(used))
    persons = persons.iloc[used].reset_index(drop=True)
    roles["person"] = renumber[roles["person"].to_numpy()]
    ent["lr"] = renumber[lr]

    ent["risk"] = _risk(rng, ent, roles, persons["risk"].to_numpy(), as_of)
    ent["p_problem"] = problem_probability(ent["risk"].to_numpy())
    ent["status"], ent["end"] = _status(rng, ent, as_of)
    _details(rng, ent, reg, as_of)
    return World(as_of=as_of, entities=ent, persons=persons, roles=roles, regions=reg)


def _codes(rng: np.random.Generator, ent: pd.DataFrame, reg: regions.RegionTable) -> None:
    """USCC, organisation code and (pre-reform entities) the old 15-digit registration number."""
    n = len(ent)
    old = (ent["est"].to_numpy() < _USCC_REFORM) & ~ent["pilot"].to_numpy()
    order = np.argsort(~old, kind="stable")  # old entities first: they get numeric codes
    codes, org_int = ids.org_codes(rng, int(old.sum()), n - int(old.sum()))
    org = np.empty(n, dtype=object)
    ints = np.empty(n, dtype=np.int64)
    org[order], ints[order] = codes, org_int
    region_code = reg.code[ent["region"].to_numpy()]
    pilot = ent["pilot"].to_numpy()
    k = int(pilot.sum())
    tails = ids.unique_ints(rng, k, 0, 31**3)
    pilot_tail = ids.text(ids.digits(tails, 3, 31), np.array(list(ids.USCC_ALPHABET)))
    org[pilot] = "M0000" + pilot_tail + "4"
    region_code = np.where(pilot, regions.PILOT_REGION, region_code)
    uscc = ids.with_check("9" + ent["prefix"].to_numpy() + region_code + org)
    # A pilot code fails the check digit: replace the correct check by another character.
    alphabet = ids.USCC_ALPHABET
    uscc[pilot] = [
        u[:-1] + alphabet[(alphabet.index(u[-1]) + 1 + s) % 31] for u, s in zip(uscc[pilot], rng.integers(0, 30, k))
    ]
    regno = np.full(n, None, dtype=object)
    regno[old] = ids.old_registration_numbers(region_code[old], ints[old])
    ent["uscc"], ent["org"], ent["regno"] = uscc, org, regno


def _details(rng: np.random.Generator, ent: pd.DataFrame, reg: regions.RegionTable, as_of: int) -> None:
    """Capital, address, approval day and business scope for the registration file."""
    n = len(ent)
    prefix = ent["prefix"].to_numpy()
    capital = np.select(
        [prefix == "1", prefix == "2"],
        [
            rng.choice(
                [3, 5, 10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000],
                n,
                p=[0.04, 0.06, 0.14, 0.1, 0.16, 0.2, 0.1, 0.06, 0.06, 0.04, 0.02, 0.02],
            ),
            rng.choice([1, 2, 3, 5, 10, 20, 50], n, p=[0.2, 0.2, 0.15, 0.2, 0.15, 0.07, 0.03]),
        ],
        rng.choice([10, 50, 100, 200, 500], n, p=[0.2, 0.3, 0.3, 0.15, 0.05]),
    )
    ent["capital"] = capital.astype(float)
    r = ent["region"].to_numpy()
    streets = np.array(vocab.STREETS, dtype=object)[rng.integers(0, len(vocab.STREETS), n)]
    ent["address"] = (
        "黑龙江省" + reg.city[r] + reg.county[r] + streets + rng.integers(1, 400, n).astype(str).astype(object) + "号"
    )
    est, end = ent["est"].to_numpy(), ent["end"].to_numpy()
    approved = est + (rng.random(n) * (as_of - est)).astype(np.int64)
    ent["approved"] = np.where(end != NA_DAY, end, approved)
    ent["scope"] = np.array([i.scope for i in vocab.INDUSTRIES], dtype=object)[ent["industry"].to_numpy()]
